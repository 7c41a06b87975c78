package wes

import (
	"errors"
	"fmt"
)

// Error codes. pkg/httpapi maps each to one HTTP status; only EINTERNAL is logged as an
// error, and its message never reaches a client.
const (
	EINVALID      = "invalid"      // 400: the request is malformed or names something unsupported
	EUNAUTHORIZED = "unauthorized" // 401: no or bad credentials
	EFORBIDDEN    = "forbidden"    // 403: the caller may not do this
	ENOTFOUND     = "not_found"    // 404: no such run (or not the caller's)
	ECONFLICT     = "conflict"     // 409 inside, never for a finished-run cancel: a state change that cannot happen
	ETOOLARGE     = "too_large"    // 413: body, part count or attachment size over the limits
	EUNAVAILABLE  = "unavailable"  // 503: a backend (Redis, executor) cannot be reached right now
	EINTERNAL     = "internal"     // 500: a bug or an unexpected failure
)

// Error is Enclave's one error type with a code. Message is written for the person who
// made the request: it names the field and says what to do, and never carries secrets or
// paths inside the zone. Err, when set, is the internal cause (logged, never shown).
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted, client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error. The client sees only a generic message.
func Internal(err error, format string, args ...any) *Error {
	return &Error{Code: EINTERNAL, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the *Error's Message, or a generic
// text for internal errors.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "an internal error occurred; the operators have the details in the server log"
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }
