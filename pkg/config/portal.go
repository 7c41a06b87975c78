package config

import (
	"net/url"
	"regexp"
	"strings"
	"time"
)

// PortalConfig configures the portal, the web application served next to the API.
type PortalConfig struct {
	// Enabled serves the portal. Default true.
	Enabled bool `yaml:"enabled"`
	// Prefix is the path the portal is served under; it starts and ends with "/". The
	// API's /ga4gh/, /healthz and /readyz are never the portal's. Default "/".
	Prefix string `yaml:"prefix"`
	// OIDC is the portal's own client at the provider (auth.mode oidc).
	OIDC PortalOIDCConfig `yaml:"oidc"`
	// Session bounds how long a login lasts.
	Session PortalSessionConfig `yaml:"session"`
}

// PortalOIDCConfig is the portal's OIDC client: it logs users in with the authorization
// code flow and PKCE at auth.oidc.issuer.
type PortalOIDCConfig struct {
	// ClientID is the portal's client id. Default "": auth.oidc.client_id.
	ClientID string `yaml:"client_id"`
	// ClientSecret is the client's secret; "" for a public client. Secret: redacted in
	// logs. Default "".
	ClientSecret string `yaml:"client_secret"`
	// ClientSecretFile holds the secret instead of ClientSecret. Default "".
	ClientSecretFile string `yaml:"client_secret_file"`
	// RedirectURL is the callback registered at the provider. Default "":
	// server.public_url + prefix + "auth/callback", or derived from each request.
	RedirectURL string `yaml:"redirect_url"`
}

// PortalSessionConfig bounds portal sessions.
type PortalSessionConfig struct {
	// IdleTimeout ends a session unused this long. Default 30m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// AbsoluteTimeout ends a session this long after login. Default 12h.
	AbsoluteTimeout time.Duration `yaml:"absolute_timeout"`
}

// PortalClientID is the client id the portal logs users in with: portal.oidc.client_id,
// else auth.oidc.client_id ("" when neither is set).
func (c Config) PortalClientID() string {
	if c.Portal.OIDC.ClientID != "" {
		return c.Portal.OIDC.ClientID
	}
	return c.Auth.OIDC.ClientID
}

// Bounds of the portal's session timeouts.
const (
	minPortalIdle     = time.Minute
	maxPortalAbsolute = 30 * 24 * time.Hour
)

// portalPrefix is the shape of portal.prefix: "/" or "/seg/.../" of URL-safe characters.
var portalPrefix = regexp.MustCompile(`^/([A-Za-z0-9._~-]+/)*$`)

// portal checks the portal keys (formats in every mode, as oidc does).
func (v *validator) portal(p PortalConfig) {
	switch {
	case !portalPrefix.MatchString(p.Prefix):
		v.Add("portal.prefix", "%q must start and end with / and hold only letters, digits and ._~- between them, like / or /portal/", p.Prefix)
	case strings.HasPrefix(p.Prefix, "/ga4gh/") || p.Prefix == "/healthz/" || p.Prefix == "/readyz/":
		v.Add("portal.prefix", "%q is the API's: choose another path, like / or /portal/", p.Prefix)
	}
	o := p.OIDC
	v.Check("portal.oidc.client_secret", o.ClientSecret == "" || o.ClientSecretFile == "",
		"set portal.oidc.client_secret or portal.oidc.client_secret_file, not both")
	if o.RedirectURL != "" {
		u, err := url.Parse(o.RedirectURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "":
			v.Add("portal.oidc.redirect_url", "%q is not an absolute https URL, like https://wes.example.org/auth/callback", o.RedirectURL)
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			v.Add("portal.oidc.redirect_url", "%q must use https: plain http is accepted only on loopback", o.RedirectURL)
		}
	}
	s := p.Session
	v.Check("portal.session.idle_timeout", s.IdleTimeout >= minPortalIdle,
		"must be at least "+formatDuration(minPortalIdle)+", like 30m")
	v.Check("portal.session.absolute_timeout", s.AbsoluteTimeout >= s.IdleTimeout && s.AbsoluteTimeout <= maxPortalAbsolute,
		"must be at least portal.session.idle_timeout ("+formatDuration(s.IdleTimeout)+") and at most "+formatDuration(maxPortalAbsolute)+", like 12h")
}
