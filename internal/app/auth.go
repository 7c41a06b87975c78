package app

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/spe4hd/enclave/pkg/auth"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/wes"
)

// newAuthenticate returns the API's authenticate function and the authenticator behind
// it (the portal's login verifies ID tokens with it): nil (authentication off) in mode
// none, else an OIDC authenticator, which fails when the provider cannot be reached
// within auth.oidc.discovery_timeout.
func newAuthenticate(ctx context.Context, cfg config.AuthConfig, log *slog.Logger) (func(*http.Request) (*wes.Principal, error), *auth.Authenticator, error) {
	if cfg.Mode != "oidc" {
		return nil, nil, nil
	}
	o := cfg.OIDC
	aud := o.Audience
	if len(aud) == 0 {
		aud = []string{o.ClientID}
	}
	a, err := auth.New(ctx, auth.Config{
		Issuer:    o.Issuer,
		Audiences: aud,
		Claims: auth.Claims{Subject: o.Claims.Subject, Name: o.Claims.Name, Email: o.Claims.Email,
			Groups: o.Claims.Groups, Entitlements: o.Claims.Entitlements},
		Roles:                  auth.RoleMap{Admin: o.Roles.Admin, DataController: o.Roles.DataController, Researcher: o.Roles.Researcher},
		AllUsersAreResearchers: o.AllUsersAreResearchers,
		RequiredEntitlement:    o.RequiredEntitlement,
		RequiredScope:          o.RequiredScope,
		Algorithms:             o.Algorithms,
		ClockSkew:              o.ClockSkew,
		JWKSRefreshInterval:    o.JWKSRefreshInterval,
		Userinfo:               o.Userinfo.Enabled,
		UserinfoCacheTTL:       o.Userinfo.CacheTTL,
		MaxTokenBytes:          int(o.MaxTokenBytes),
		DiscoveryTimeout:       o.DiscoveryTimeout,
	}, log)
	if err != nil {
		return nil, nil, err
	}
	return a.Authenticate, a, nil
}
