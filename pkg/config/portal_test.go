package config

import (
	"strings"
	"testing"
	"time"
)

func TestPortalConfig(t *testing.T) {
	d := Default()
	if p := d.Portal; !p.Enabled || p.Prefix != "/" || p.Session.IdleTimeout != 30*time.Minute || p.Session.AbsoluteTimeout != 12*time.Hour {
		t.Errorf("defaults %+v", p)
	}
	path := writeFile(t, `
auth: {oidc: {issuer: https://login.example.org/oidc/, client_id: enclave-wes, roles: {researcher: [r]}}}
portal:
  prefix: /portal/
  oidc: {client_id: enclave-portal, redirect_url: https://wes.example.org/portal/auth/callback}
  session: {idle_timeout: 15m, absolute_timeout: 8h}
`)
	c, err := Load(path, []string{"ENCLAVE_PORTAL_OIDC_CLIENT_SECRET=s3cret-portal"})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Portal
	if p.Prefix != "/portal/" || p.OIDC.ClientID != "enclave-portal" || p.OIDC.ClientSecret != "s3cret-portal" ||
		p.Session.IdleTimeout != 15*time.Minute || p.Session.AbsoluteTimeout != 8*time.Hour || c.PortalClientID() != "enclave-portal" {
		t.Errorf("loaded %+v", p)
	}
	if r := c.Redacted(); r.Portal.OIDC.ClientSecret != RedactedValue || strings.Contains(r.YAML(), "s3cret-portal") {
		t.Error("the portal's client secret is not redacted")
	}
	c.Portal.OIDC.ClientID = ""
	if c.PortalClientID() != "enclave-wes" {
		t.Errorf("without its own client id the portal uses %q", c.PortalClientID())
	}
}

func TestPortalValidation(t *testing.T) {
	for _, tt := range []struct {
		edit func(*PortalConfig)
		want string
	}{
		{func(p *PortalConfig) { p.Prefix = "portal" }, "portal.prefix: \"portal\" must start and end with /"},
		{func(p *PortalConfig) { p.Prefix = "/portal" }, "portal.prefix"},
		{func(p *PortalConfig) { p.Prefix = "//evil/" }, "portal.prefix"},
		{func(p *PortalConfig) { p.Prefix = "/ga4gh/" }, "portal.prefix: \"/ga4gh/\" is the API's"},
		{func(p *PortalConfig) { p.OIDC.ClientSecret, p.OIDC.ClientSecretFile = "a", "/f" }, "portal.oidc.client_secret: set portal.oidc.client_secret or portal.oidc.client_secret_file, not both"},
		{func(p *PortalConfig) { p.OIDC.RedirectURL = "http://wes.example.org/auth/callback" }, "portal.oidc.redirect_url: \"http://wes.example.org/auth/callback\" must use https"},
		{func(p *PortalConfig) { p.OIDC.RedirectURL = "/auth/callback" }, "portal.oidc.redirect_url"},
		{func(p *PortalConfig) { p.Session.IdleTimeout = time.Second }, "portal.session.idle_timeout: must be at least 1m"},
		{func(p *PortalConfig) { p.Session.AbsoluteTimeout = 10 * time.Minute }, "portal.session.absolute_timeout: must be at least portal.session.idle_timeout"},
	} {
		c := Default()
		tt.edit(&c.Portal)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", c.Portal, err, tt.want)
		}
	}
	c := Default()
	c.Portal.Prefix = "/my-portal.v2/"
	c.Portal.OIDC.RedirectURL = "http://127.0.0.1:8080/auth/callback"
	if err := c.Validate(); err != nil {
		t.Errorf("valid portal keys refused: %v", err)
	}
}
