// Package portal is a STUB standing in for P1's pkg/portal (issue 13) so that the
// server's wiring builds in this branch; the lead drops it at merge.
package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"

	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Sessions is who is logged in to the portal (the contract's interface).
type Sessions interface {
	Principal(r *http.Request) (*wes.Principal, error)
	CSRFToken(w http.ResponseWriter, r *http.Request) string
	ValidCSRF(r *http.Request) bool
	Handler() http.Handler
	LoginRequired() bool
}

// Config is how the portal is mounted.
type Config struct {
	Prefix    string
	PublicURL string
	Secure    bool
}

// Deps are the portal's collaborators.
type Deps struct {
	Runs     *runs.Service
	Sessions Sessions
	Logger   *slog.Logger
}

// New returns a handler that says "portal" and who is logged in, and mounts the login.
func New(cfg Config, deps Deps) (http.Handler, error) {
	mux := http.NewServeMux()
	if h := deps.Sessions.Handler(); h != nil {
		mux.Handle(cfg.Prefix+"auth/", h)
	}
	mux.HandleFunc(cfg.Prefix, func(w http.ResponseWriter, r *http.Request) {
		p, _ := deps.Sessions.Principal(r)
		if p == nil && deps.Sessions.LoginRequired() {
			http.Redirect(w, r, cfg.Prefix+"auth/login?return="+r.URL.Path, http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("portal " + p.Subject + " csrf=" + deps.Sessions.CSRFToken(w, r) + "\n"))
	})
	return mux, nil
}

// Anonymous is the sessions of auth off: everyone is wes.Anonymous.
func Anonymous(key []byte) Sessions { return &anonymous{key: key} }

type anonymous struct{ key []byte }

func (a *anonymous) Principal(*http.Request) (*wes.Principal, error) { return wes.Anonymous, nil }
func (a *anonymous) Handler() http.Handler                           { return nil }
func (a *anonymous) LoginRequired() bool                             { return false }

func (a *anonymous) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(tok))
	v := tok + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	http.SetCookie(w, &http.Cookie{Name: "enclave_csrf", Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return v
}

func (a *anonymous) ValidCSRF(r *http.Request) bool {
	c, err := r.Cookie("enclave_csrf")
	return err == nil && c.Value != "" && hmac.Equal([]byte(c.Value), []byte(r.PostFormValue("csrf")))
}
