// Package auth turns an OIDC bearer token (LS-Login, Dex, any OpenID Provider) into a
// wes.Principal: signature, issuer, audience and times checked against the provider's
// published keys, roles mapped from groups and entitlements.
//
// Library: go-jose v4 verifies signatures and the registered claims. go-oidc, built on
// it, was not used for verification because its key set fetches again on every unknown
// key id without a rate limit, its verifier takes one audience and ignores iat, and it
// is made for ID tokens; the discovery, key cache and userinfo code it would have given
// are small and written here with the limits Enclave needs.
//
// Start-up: New fetches the discovery document and the key set, retrying for
// Config.DiscoveryTimeout, and fails with an error naming the provider when it cannot:
// a server that would answer 401 to everyone is worse than one that does not start.
//
// Secrets: no token, part of a token or client secret appears in any log line or error
// message; userinfo answers are cached under a hash of the token.
package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Authenticator validates bearer tokens of one provider. It is safe for concurrent use.
type Authenticator struct {
	cfg      Config
	meta     *ProviderMetadata
	algs     []jose.SignatureAlgorithm
	keys     *keySet
	userinfo *userinfoCache
	log      *slog.Logger
	now      func() time.Time // the clock; tests move it
}

// New discovers the provider, fetches its keys and returns an Authenticator. It retries
// for cfg.DiscoveryTimeout while the provider cannot be reached, then fails.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Authenticator, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{cfg: cfg, log: log.With("component", "auth"), now: time.Now}
	for _, s := range cfg.Algorithms {
		a.algs = append(a.algs, jose.SignatureAlgorithm(s))
	}
	var err error
	if err = a.retry(ctx, func() error {
		a.meta, err = Discover(ctx, cfg.HTTPClient, cfg.Issuer)
		return err
	}); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	a.keys = &keySet{url: a.meta.JWKSURI, hc: cfg.HTTPClient, minInterval: cfg.JWKSRefreshInterval,
		now: func() time.Time { return a.now() }, log: a.log}
	if err := a.retry(ctx, func() error { return a.keys.refresh(ctx, true) }); err != nil {
		return nil, fmt.Errorf("auth: %s: %w", a.meta.JWKSURI, err)
	}
	if cfg.Userinfo {
		if a.meta.UserinfoEndpoint == "" {
			return nil, fmt.Errorf("auth: userinfo is enabled but the provider %s publishes no userinfo_endpoint", cfg.Issuer)
		}
		a.userinfo = newUserinfoCache(cfg.UserinfoCacheTTL)
	}
	a.log.Info("OIDC authentication ready", "issuer", cfg.Issuer, "audiences", cfg.Audiences, "algorithms", cfg.Algorithms)
	return a, nil
}

// Provider returns the provider's discovery metadata.
func (a *Authenticator) Provider() ProviderMetadata { return *a.meta }

// retry calls f until it succeeds, fails permanently, ctx ends or DiscoveryTimeout has
// passed, waiting 0.5s, 1s, 2s, ... (at most 5s) between attempts.
func (a *Authenticator) retry(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(a.cfg.DiscoveryTimeout)
	wait := 500 * time.Millisecond
	for {
		err := f()
		var perm errPermanent
		if err == nil || errors.As(err, &perm) {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("%w (gave up after %s)", err, a.cfg.DiscoveryTimeout)
		}
		a.log.Warn("OIDC provider not reachable yet; retrying", "issuer", a.cfg.Issuer, "err", err, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%v)", err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// Authenticate returns the caller of r. Errors are *wes.Error: EUNAUTHORIZED for a
// missing or invalid token, EFORBIDDEN for a valid token of a user who may not use the
// service (no role, missing required scope or entitlement), EUNAVAILABLE when the
// userinfo endpoint cannot be reached.
func (a *Authenticator) Authenticate(r *http.Request) (*wes.Principal, error) {
	raw, err := a.bearer(r)
	if err != nil {
		return nil, err
	}
	claims, err := a.verify(r.Context(), raw, a.cfg.Audiences)
	if err != nil {
		return nil, err
	}
	if a.userinfo != nil && a.lacksClaims(claims) {
		if claims, err = a.withUserinfo(r.Context(), raw, claims); err != nil {
			return nil, err
		}
	}
	return a.principal(claims)
}

// unauthorized logs why a token was refused (never the token) and returns the 401.
func (a *Authenticator) unauthorized(reason string) error {
	a.log.Debug("bearer token refused", "reason", reason)
	return wes.Errorf(wes.EUNAUTHORIZED, "the bearer token was refused: %s", reason)
}

// bearer extracts the token from the request's one Authorization header.
func (a *Authenticator) bearer(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	switch {
	case len(vals) == 0:
		return "", wes.Errorf(wes.EUNAUTHORIZED, "authentication required: send a bearer token in the Authorization header")
	case len(vals) > 1:
		return "", a.unauthorized("send exactly one Authorization header")
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", a.unauthorized(`the Authorization header must be "Bearer <token>"`)
	}
	tok = strings.Trim(tok, " ")
	switch {
	case len(tok) > a.cfg.MaxTokenBytes:
		return "", a.unauthorized(fmt.Sprintf("the token is longer than %d bytes", a.cfg.MaxTokenBytes))
	case tok == "":
		return "", a.unauthorized("the token is empty")
	case strings.ContainsAny(tok, " \t,"):
		return "", a.unauthorized("send exactly one token")
	case strings.Count(tok, ".") != 2:
		return "", a.unauthorized("the token is not a signed JWT")
	}
	return tok, nil
}

// tokenClaims is a token's registered claims, checked by go-jose, and all its claims.
type tokenClaims struct {
	jwt.Claims
	all map[string]any
}

// verify checks the token's signature and registered claims (its audience among
// audiences) and returns all its claims.
func (a *Authenticator) verify(ctx context.Context, raw string, audiences []string) (map[string]any, error) {
	// The header's alg is checked first only to say why a token is refused; ParseSigned
	// itself refuses every algorithm outside the allow-list ("none" and HS* among them).
	if alg, ok := headerAlg(raw); ok && !slices.Contains(a.cfg.Algorithms, alg) {
		return nil, a.unauthorized("its signing algorithm is not allowed (allowed: " + strings.Join(a.cfg.Algorithms, ", ") + ")")
	}
	tok, err := jwt.ParseSigned(raw, a.algs)
	if err != nil {
		return nil, a.unauthorized("it is not a well-formed signed JWT")
	}
	if len(tok.Headers) != 1 {
		return nil, a.unauthorized("it must carry exactly one signature")
	}
	h := tok.Headers[0]
	keys, err := a.keys.lookup(ctx, h.KeyID, h.Algorithm)
	if err != nil {
		if errors.Is(err, errUnknownKey) {
			return nil, a.unauthorized("it is signed with a key the provider does not publish")
		}
		return nil, wes.Errorf(wes.EUNAVAILABLE, "the identity provider's signing keys could not be fetched; try again shortly")
	}
	var tc tokenClaims
	verified := false
	for _, k := range keys {
		if err := tok.Claims(k.Key, &tc.Claims, &tc.all); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, a.unauthorized("its signature does not verify")
	}
	err = tc.ValidateWithLeeway(jwt.Expected{Issuer: a.cfg.Issuer, AnyAudience: audiences, Time: a.now()}, a.cfg.ClockSkew)
	switch {
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return nil, a.unauthorized("it was issued by another provider")
	case errors.Is(err, jwt.ErrInvalidAudience):
		return nil, a.unauthorized("it is meant for another service (audience)")
	case errors.Is(err, jwt.ErrExpired):
		return nil, a.unauthorized("it has expired; log in again")
	case errors.Is(err, jwt.ErrNotValidYet):
		return nil, a.unauthorized("it is not valid yet (nbf)")
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, a.unauthorized("it was issued in the future (iat)")
	case err != nil:
		return nil, a.unauthorized("its claims are not valid")
	case tc.Expiry == nil:
		return nil, a.unauthorized("it has no expiry time (exp)")
	}
	return tc.all, nil
}

// headerAlg returns the "alg" of a compact JWS's header, if the header decodes.
func headerAlg(raw string) (string, bool) {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return "", false
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &hdr) != nil {
		return "", false
	}
	return hdr.Alg, true
}
