package app

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spe4hd/enclave/pkg/auth"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/portal"
	"github.com/spe4hd/enclave/pkg/portal/session"
	"github.com/spe4hd/enclave/pkg/runs"
)

// buildPortal builds the portal over the run service the API uses, with its sessions:
// anonymous in auth mode none, OIDC login otherwise. nil when portal.enabled is false,
// or when no OIDC client is configured for it (logged: the API serves alone).
func (a *App) buildPortal(svc *runs.Service, authenticator *auth.Authenticator) (http.Handler, error) {
	p := a.cfg.Portal
	if !p.Enabled {
		return nil, nil
	}
	secure := isHTTPS(a.cfg.Server.PublicURL) || isHTTPS(p.OIDC.RedirectURL)
	log := a.log.With("component", "portal")
	var sessions portal.Sessions
	var mw func(http.Handler) http.Handler
	if authenticator == nil {
		// Auth off: every visitor is the anonymous user. The CSRF key lives as long as the
		// process (a restart only asks forms open at that moment to be sent again).
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("portal: %w", err)
		}
		sessions = portal.Anonymous(key)
	} else {
		clientID := a.cfg.PortalClientID()
		if clientID == "" {
			log.Warn("the portal is off: it needs an OIDC client to log users in with; set portal.oidc.client_id " +
				"(or auth.oidc.client_id), or portal.enabled: false to silence this")
			return nil, nil
		}
		secret := p.OIDC.ClientSecret
		if f := p.OIDC.ClientSecretFile; f != "" {
			var err error
			if secret, err = config.ReadSecretFile(f); err != nil {
				return nil, fmt.Errorf("portal.oidc.client_secret_file: %w", err)
			}
		}
		m, err := session.New(session.Config{
			Prefix: p.Prefix, PublicURL: a.cfg.Server.PublicURL, RedirectURL: p.OIDC.RedirectURL,
			ClientID: clientID, ClientSecret: secret, Secure: secure,
			IdleTimeout: p.Session.IdleTimeout, AbsoluteTimeout: p.Session.AbsoluteTimeout,
			KeyPrefix: a.cfg.Redis.KeyPrefix,
		}, session.Deps{Redis: a.rdb, Auth: authenticator, Audit: a.zone.audit, Logger: log})
		if err != nil {
			return nil, err
		}
		sessions, mw = m, m.Middleware
	}
	h, err := portal.New(portal.Config{Prefix: p.Prefix, PublicURL: a.cfg.Server.PublicURL, Secure: secure},
		portal.Deps{Runs: svc, Sessions: sessions, Logger: log})
	if err != nil {
		return nil, err
	}
	if mw != nil {
		h = mw(h)
	}
	return h, nil
}

// routePortal sends /ga4gh/... and /healthz to the API, the portal's prefix to the
// portal (and / to the prefix when it is not /), and anything else to the API.
func routePortal(api, web http.Handler, prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/healthz" || p == "/ga4gh" || strings.HasPrefix(p, "/ga4gh/"):
			api.ServeHTTP(w, r)
		case strings.HasPrefix(p, prefix):
			web.ServeHTTP(w, r)
		case p == "/" || p+"/" == prefix:
			http.Redirect(w, r, prefix, http.StatusFound)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

func isHTTPS(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https"
}
