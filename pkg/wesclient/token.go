package wesclient

import "context"

// TokenSource gives the bearer token for a request. The client asks it before each
// request to the server's own origin, so a source may read a file or renew a token; ""
// sends no Authorization header.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a token given once, e.g. from a flag or an environment variable.
type StaticToken string

// Token returns the token itself.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// TokenError is a request that was not sent because its token could not be had (an
// expired login, an unreadable token file, a token with white space in it). Asking
// again does not help, unlike a network error.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }
