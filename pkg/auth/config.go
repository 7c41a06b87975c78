package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultClockSkew           = 30 * time.Second
	DefaultJWKSRefreshInterval = 15 * time.Second
	DefaultUserinfoCacheTTL    = 5 * time.Minute
	DefaultMaxTokenBytes       = 16 << 10
	DefaultDiscoveryTimeout    = 30 * time.Second
	// MaxClockSkew is the largest ClockSkew accepted: more would keep expired tokens alive.
	MaxClockSkew = 5 * time.Minute
)

// DefaultAlgorithms are the asymmetric JWS algorithms accepted when Config.Algorithms is
// empty.
var DefaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Config configures an Authenticator. Zero values get the defaults named in each comment.
// New never reads the environment: cmd/enclave maps pkg/config's auth.oidc keys here.
type Config struct {
	// Issuer is the provider's issuer URL exactly as tokens carry it in "iss" (LS-Login:
	// https://login.aai.lifescience-ri.eu/oidc/). Discovery is read from
	// Issuer + "/.well-known/openid-configuration". https is required except on loopback.
	Issuer string
	// Audiences are the accepted "aud" values (usually the service's client id); a token
	// must name at least one. Required.
	Audiences []string
	// Claims names the token claims the principal is built from.
	Claims Claims
	// Roles maps groups and entitlements to Enclave roles.
	Roles RoleMap
	// AllUsersAreResearchers gives every authenticated user the researcher role.
	AllUsersAreResearchers bool
	// RequiredEntitlement, when set, is a group or entitlement a user must hold to use the
	// service at all; others get 403.
	RequiredEntitlement string
	// RequiredScope, when set, must be among the token's scopes ("scope" or "scp"
	// claim); tokens without it get 403.
	RequiredScope string
	// Algorithms are the accepted JWS algorithms. Default DefaultAlgorithms. "none" and
	// the HMAC algorithms (HS256/384/512) are always refused: a verifier holding only the
	// provider's public keys must never accept a symmetric signature.
	Algorithms []string
	// ClockSkew is the leeway for exp, nbf and iat. Default 30s, at most 5m.
	ClockSkew time.Duration
	// JWKSRefreshInterval is the least time between two fetches of the provider's key
	// set. A token naming an unknown key id triggers a fetch only if the last one is at
	// least this old, so forged key ids cannot make Enclave hammer the provider.
	// Default 15s.
	JWKSRefreshInterval time.Duration
	// Userinfo asks the provider's userinfo endpoint for the configured claims a token
	// lacks (name, email, groups, entitlements). Default false.
	Userinfo bool
	// UserinfoCacheTTL is how long a userinfo answer is reused for the same token (never
	// beyond the token's expiry). Default 5m.
	UserinfoCacheTTL time.Duration
	// MaxTokenBytes is the largest bearer token accepted. Default 16384.
	MaxTokenBytes int
	// DiscoveryTimeout is how long New keeps retrying when the provider's discovery
	// document or key set cannot be fetched; then New fails. Default 30s.
	DiscoveryTimeout time.Duration
	// HTTPClient talks to the provider. Default: a client with a 10s timeout.
	HTTPClient *http.Client
}

// Claims names the claims a Principal is built from. Empty names get the defaults shown.
type Claims struct {
	Subject      string // default "sub": the stable user id that owns runs
	Name         string // default "name"
	Email        string // default "email"
	Groups       string // default "groups"
	Entitlements string // default "eduperson_entitlement"
}

// RoleMap lists, per Enclave role, the groups or entitlements that grant it (exact,
// case-sensitive match against the union of the groups and entitlements claims).
type RoleMap struct {
	Admin          []string
	DataController []string
	Researcher     []string
}

func (c *Config) setDefaults() error {
	var errs []error
	u, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "":
		errs = append(errs, errors.New("the issuer URL is required"))
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, fmt.Errorf("issuer %q is not an absolute http(s) URL without query, fragment or user", c.Issuer))
	case u.Scheme == "http" && !loopback(u.Hostname()):
		errs = append(errs, fmt.Errorf("issuer %q must use https (plain http is allowed only on loopback)", c.Issuer))
	}
	if len(c.Audiences) == 0 || slices.Contains(c.Audiences, "") {
		errs = append(errs, errors.New("at least one non-empty audience (the service's client id) is required"))
	}
	setStr(&c.Claims.Subject, "sub")
	setStr(&c.Claims.Name, "name")
	setStr(&c.Claims.Email, "email")
	setStr(&c.Claims.Groups, "groups")
	setStr(&c.Claims.Entitlements, "eduperson_entitlement")
	if len(c.Algorithms) == 0 {
		c.Algorithms = DefaultAlgorithms
	}
	for _, a := range c.Algorithms {
		if !slices.Contains(DefaultAlgorithms, a) {
			errs = append(errs, fmt.Errorf("algorithm %q is not allowed; choose from %s (none and HMAC are always refused)",
				a, strings.Join(DefaultAlgorithms, ", ")))
		}
	}
	setDur(&c.ClockSkew, DefaultClockSkew)
	setDur(&c.JWKSRefreshInterval, DefaultJWKSRefreshInterval)
	setDur(&c.UserinfoCacheTTL, DefaultUserinfoCacheTTL)
	setDur(&c.DiscoveryTimeout, DefaultDiscoveryTimeout)
	if c.ClockSkew < 0 || c.ClockSkew > MaxClockSkew {
		errs = append(errs, fmt.Errorf("clock skew %s must be between 0 and %s", c.ClockSkew, MaxClockSkew))
	}
	if c.JWKSRefreshInterval < 0 || c.UserinfoCacheTTL < 0 || c.DiscoveryTimeout < 0 {
		errs = append(errs, errors.New("intervals and timeouts must not be negative"))
	}
	if c.MaxTokenBytes == 0 {
		c.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if c.MaxTokenBytes < 256 {
		errs = append(errs, fmt.Errorf("max token bytes %d is too small to hold any real token (at least 256)", c.MaxTokenBytes))
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if len(errs) > 0 {
		return fmt.Errorf("auth: %w", errors.Join(errs...))
	}
	return nil
}

// loopback reports whether host is a loopback name or address.
func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.")
}

func setStr(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

func setDur(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}
