package portal

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/spe4hd/enclave/pkg/runs"
)

// Config is how the portal is mounted.
type Config struct {
	// Prefix is the path the portal is served under; it starts and ends with "/".
	// Default "/".
	Prefix string
	// PublicURL is the portal's external base URL (for links that leave the page); ""
	// uses relative links only.
	PublicURL string
	// Secure marks the cookies the portal sets as Secure (served over TLS).
	Secure bool
}

// Deps are the portal's collaborators.
type Deps struct {
	// Runs is the run service every page calls. Required.
	Runs *runs.Service
	// Sessions says who is logged in. Required (Anonymous with auth off).
	Sessions Sessions
	// Logger gets internal errors; nil discards them.
	Logger *slog.Logger
}

// portal serves the pages.
type portal struct {
	cfg    Config
	runs   *runs.Service
	sess   Sessions
	log    *slog.Logger
	pages  *pages
	static http.Handler
}

// New returns the portal's handler: every route under cfg.Prefix (the API's /ga4gh/ and
// the health routes are the server's to mount beside it).
func New(cfg Config, deps Deps) (http.Handler, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "/"
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, errors.New("portal: Config.Prefix must start and end with /")
	}
	if u, err := url.Parse(cfg.Prefix); err != nil || u.Path != cfg.Prefix || strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, errors.New("portal: Config.Prefix must be a plain path such as / or /portal/")
	}
	if deps.Runs == nil {
		return nil, errors.New("portal: Deps.Runs is required")
	}
	if deps.Sessions == nil {
		return nil, errors.New("portal: Deps.Sessions is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	p := &portal{cfg: cfg, runs: deps.Runs, sess: deps.Sessions, log: deps.Logger.With("component", "portal"),
		pages: pg, static: staticHandler()}
	return p.routes(), nil
}

// routes is the portal's one route table. Page handlers get the caller (user); POST
// handlers are checked for their CSRF token first (post).
func (p *portal) routes() http.Handler {
	mux := http.NewServeMux()
	pre := p.cfg.Prefix
	get := func(path string, h userHandler) { mux.Handle("GET "+pre+path, p.page(h)) }
	post := func(path string, h userHandler) { mux.Handle("POST "+pre+path, p.page(p.csrf(h))) }

	mux.Handle("GET "+pre+"{$}", p.page(func(w http.ResponseWriter, r *http.Request, _ *user) {
		http.Redirect(w, r, pre+"catalog", http.StatusSeeOther)
	}))
	get("catalog", p.catalogList)
	get("catalog/{id}", p.catalogEntry)
	post("catalog/{id}/run", p.catalogRun)
	get("runs", p.runList)
	get("runs/{id}", p.runPage)
	get("runs/{id}/status", p.runStatus)
	get("runs/{id}/logs/{stream}", p.runLog)
	get("runs/{id}/outputs/{path...}", p.download)
	get("runs/{id}/ro-crate", p.roCrate)
	post("runs/{id}/cancel", p.runCancel)
	post("runs/{id}/delete", p.runDelete)
	get("review", p.reviewQueue)
	get("review/{id}", p.reviewPage)
	post("review/{id}", p.reviewDecide)
	get("audit", p.auditPage)
	get("audit/export", p.auditExport)
	mux.Handle("GET "+pre+"static/", http.StripPrefix(pre+"static/", p.static))
	if h := p.sess.Handler(); h != nil {
		mux.Handle(pre+"auth/", h)
	}
	// Anything else under the prefix is a page that does not exist.
	mux.Handle(pre, p.page(func(w http.ResponseWriter, r *http.Request, u *user) {
		p.fail(w, r, u, errNoPage)
	}))
	return securityHeaders(mux)
}

// securityHeaders sets the headers every answer carries: a CSP that allows only the
// portal's own script, style and images (no inline script or style), no framing, no
// sniffing, and no Referer with run ids leaving the site. Pages with data are not cached
// (page sets Cache-Control); static assets are.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
