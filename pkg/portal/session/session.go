// Package session is the portal's login, as a backend for frontend: the OpenID Connect
// authorization code flow with PKCE (S256), state and nonce against the provider the API
// trusts (auth.oidc.issuer), with the portal's own client. Tokens never reach the
// browser: the session record in Redis (under the server's key prefix, so any replica
// serves it) holds the principal, the refresh token and the times that bound it, and the
// browser holds only an opaque random id in an HttpOnly, SameSite=Lax cookie (Secure,
// and __Host- named, over https). Redis keys hold the SHA-256 of each id, never the id.
//
// A session ends after an idle timeout or an absolute one, when its access token expires
// and cannot be refreshed, and at logout (POST with the session's CSRF token; then the
// browser is sent to the provider's end_session_endpoint when it has one). Its id is
// replaced at login (no fixation) and every rotateEvery while in use; the replaced id
// keeps working for rotateGrace, so requests already in flight are not logged out.
//
// *Manager implements pkg/portal's Sessions interface (see portal-contract.md), without
// importing pkg/portal; Middleware must wrap the portal's pages.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/auth"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
)

const (
	// rotateEvery is how often a session in use gets a new id.
	rotateEvery = 10 * time.Minute
	// rotateGrace is how long a replaced id still works (requests sent before the
	// browser saw the new cookie).
	rotateGrace = time.Minute
	// touchEvery bounds the writes of last-seen times: a session used more often is
	// written at most this often (the idle timeout is this much less exact).
	touchEvery = 5 * time.Second
	// loginTTL is how long a started login (state, nonce, PKCE verifier) waits for the
	// provider's callback.
	loginTTL = 10 * time.Minute
	// ttlSlack keeps a record in Redis a little past its expiry, so that an expired
	// session is told apart from one that never existed only by its times (the clock is
	// the Manager's, Redis expires by its own).
	ttlSlack = time.Minute
	// idBytes is the entropy of session ids, states, nonces and PKCE verifiers.
	idBytes = 32
)

// Audit actions.
const (
	ActionLogin  = "portal.login"
	ActionLogout = "portal.logout"
)

// Config configures a Manager.
type Config struct {
	// Prefix is the path the portal is served under, starting and ending with "/".
	// Default "/".
	Prefix string
	// PublicURL is the server's public base URL (server.public_url), used for the
	// callback and post-logout URLs; "" derives them from each request.
	PublicURL string
	// RedirectURL is the callback URL registered at the provider; "" is PublicURL +
	// Prefix + "auth/callback".
	RedirectURL string
	// ClientID and ClientSecret are the portal's client at the provider; an empty
	// secret makes it a public client (PKCE only).
	ClientID, ClientSecret string
	// Secure marks cookies Secure and names the session cookie __Host-enclave_session.
	Secure bool
	// IdleTimeout and AbsoluteTimeout end sessions. Defaults 30m and 12h.
	IdleTimeout, AbsoluteTimeout time.Duration
	// KeyPrefix starts every Redis key (redis.key_prefix).
	KeyPrefix string
}

// Deps are what a Manager works with.
type Deps struct {
	// Redis keeps sessions and started logins.
	Redis redis.UniversalClient
	// Auth verifies ID tokens and maps their claims to principals as the API does; its
	// provider's discovery document names the endpoints.
	Auth *auth.Authenticator
	// Audit records logins (successful and failed) and logouts. Required.
	Audit wes.Auditor
	// Logger gets problems with the provider; never a token.
	Logger *slog.Logger
	// HTTPClient talks to the provider's token endpoint. Default: 10s timeout.
	HTTPClient *http.Client
}

// Manager is the portal's sessions: who is logged in, how they log in and out.
type Manager struct {
	cfg      Config
	deps     Deps
	meta     auth.ProviderMetadata
	scopes   string
	log      *slog.Logger
	now      func() time.Time
	limiter  *limiter
	cookie   string // the session cookie's name
	loginCk  string // the cookie binding a started login to its browser
	ckPath   string
	authPath string // Prefix + "auth/"
}

// New checks cfg and returns a Manager. It does not reach the provider: deps.Auth has
// already read its discovery document.
func New(cfg Config, deps Deps) (*Manager, error) {
	var errs []error
	if cfg.Prefix == "" {
		cfg.Prefix = "/"
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		errs = append(errs, fmt.Errorf("the prefix %q must start and end with /", cfg.Prefix))
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("the portal needs an OIDC client id (portal.oidc.client_id or auth.oidc.client_id)"))
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.AbsoluteTimeout == 0 {
		cfg.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if cfg.IdleTimeout < 0 || cfg.AbsoluteTimeout < cfg.IdleTimeout {
		errs = append(errs, errors.New("the idle timeout must be positive and at most the absolute timeout"))
	}
	if deps.Redis == nil || deps.Auth == nil || deps.Audit == nil {
		errs = append(errs, errors.New("the Redis client, the authenticator and the audit trail are required"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("portal sessions: %w", errors.Join(errs...))
	}
	meta := deps.Auth.Provider()
	if meta.AuthorizationEndpoint == "" {
		return nil, fmt.Errorf("portal sessions: the provider %s publishes no authorization_endpoint, so nobody can log in", meta.Issuer)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	m := &Manager{cfg: cfg, deps: deps, meta: meta, scopes: scopesFor(meta.ScopesSupported),
		log: deps.Logger.With("component", "portal-session"), now: time.Now, limiter: newLimiter(),
		cookie: "enclave_session", loginCk: "enclave_login", ckPath: cfg.Prefix, authPath: cfg.Prefix + "auth/"}
	if cfg.Secure {
		// __Host- cookies must be Secure, have Path=/ and no Domain: no other host or
		// path on the site can set or shadow them.
		m.cookie, m.loginCk, m.ckPath = "__Host-enclave_session", "__Host-enclave_login", "/"
	}
	return m, nil
}

// scopesFor asks for openid and, among the scopes the provider lists, those that carry
// the claims the role mapping reads and a refresh token (offline_access).
func scopesFor(supported []string) string {
	out := []string{"openid"}
	for _, s := range []string{"profile", "email", "groups", "eduperson_entitlement", "offline_access"} {
		if slices.Contains(supported, s) {
			out = append(out, s)
		}
	}
	if len(supported) == 0 {
		out = append(out, "profile", "email")
	}
	return strings.Join(out, " ")
}

// LoginRequired is true: with OIDC on, pages need a logged-in user.
func (m *Manager) LoginRequired() bool { return true }

// CookieName is the session cookie's name.
func (m *Manager) CookieName() string { return m.cookie }

// record is a session as Redis keeps it.
type record struct {
	Principal    *wes.Principal `json:"principal,omitempty"`
	CSRF         string         `json:"csrf,omitempty"`
	Created      time.Time      `json:"created"`
	LastSeen     time.Time      `json:"last_seen"`
	Issued       time.Time      `json:"issued"` // when this id was issued (rotation)
	AccessExpiry time.Time      `json:"access_expiry"`
	RefreshToken string         `json:"refresh_token,omitempty"`
	IDToken      string         `json:"id_token,omitempty"` // the logout hint
	// MovedTo is the key of the id this one was rotated to: the record of a replaced id.
	MovedTo string `json:"moved_to,omitempty"`
}

// newID returns a random, URL-safe identifier of idBytes bytes.
func newID() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormedID reports whether s can be an id newID made (cookies are client input).
func wellFormedID(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// sessionKey is the Redis key of session id.
func (m *Manager) sessionKey(id string) string { return m.keyOf(digest(id)) }

// keyOf is the Redis key of the session whose id has the given digest.
func (m *Manager) keyOf(d string) string { return m.cfg.KeyPrefix + "portal:session:" + d }

// loginKey is the Redis key of the login started with state.
func (m *Manager) loginKey(state string) string {
	return m.cfg.KeyPrefix + "portal:login:" + digest(state)
}

// SessionKey is the Redis key a session id is kept under (for tests and operators:
// deleting it ends the session).
func (m *Manager) SessionKey(id string) string { return m.sessionKey(id) }

// ttl is how long Redis keeps rec: until its idle or absolute end, and a little more.
func (m *Manager) ttl(rec *record, now time.Time) time.Duration {
	end := min(rec.LastSeen.Add(m.cfg.IdleTimeout).Sub(now), rec.Created.Add(m.cfg.AbsoluteTimeout).Sub(now))
	return max(end, 0) + ttlSlack
}

// expired reports whether rec has ended by its idle or absolute timeout.
func (m *Manager) expired(rec *record, now time.Time) bool {
	return !now.Before(rec.LastSeen.Add(m.cfg.IdleTimeout)) || !now.Before(rec.Created.Add(m.cfg.AbsoluteTimeout))
}

// clock returns the Manager's time (tests move it; see export_test.go).
func (m *Manager) clock() time.Time { return m.now() }

// errNoSession is a cookie with no live session behind it.
var errNoSession = errors.New("no session")

// load returns the session of id, following one rotation. moved reports that id was
// replaced (its record is the new id's). Expired sessions are errNoSession.
func (m *Manager) load(ctx context.Context, id string) (rec *record, key string, moved bool, err error) {
	if !wellFormedID(id) {
		return nil, "", false, errNoSession
	}
	key = m.sessionKey(id)
	for hop := 0; hop < 2; hop++ {
		rec, err = m.get(ctx, key)
		if err != nil {
			return nil, "", false, err
		}
		if rec.MovedTo == "" {
			break
		}
		key, moved = m.keyOf(rec.MovedTo), true
	}
	if rec.MovedTo != "" || rec.Principal == nil || m.expired(rec, m.clock()) {
		return nil, "", false, errNoSession
	}
	return rec, key, moved, nil
}

// sessionFrom returns r's session: the one Middleware put in its context, else the one
// its cookie names.
func (m *Manager) sessionFrom(r *http.Request) (*record, error) {
	if s, ok := r.Context().Value(ctxKey{}).(*current); ok {
		return s.rec, nil
	}
	c, err := r.Cookie(m.cookie)
	if err != nil {
		return nil, errNoSession
	}
	rec, _, _, err := m.load(r.Context(), c.Value)
	return rec, err
}

// Principal is the user of r's session; (nil, nil) when nobody is logged in.
func (m *Manager) Principal(r *http.Request) (*wes.Principal, error) {
	rec, err := m.sessionFrom(r)
	switch {
	case errors.Is(err, errNoSession):
		return nil, nil
	case err != nil:
		return nil, wes.Errorf(wes.EUNAVAILABLE, "your session cannot be read right now; try again shortly")
	}
	return rec.Principal, nil
}
