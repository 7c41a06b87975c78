package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"

	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// user is the caller of a page: their principal and what the layout shows them.
type user struct {
	P        *wes.Principal
	Name     string
	Reviewer bool // data controllers and administrators: the review pages
	Admin    bool // administrators: the audit page
}

// userHandler is a page handler; u is never nil.
type userHandler func(w http.ResponseWriter, r *http.Request, u *user)

// maxFormBytes bounds a posted form: the largest is a run form or a review's reasons.
const maxFormBytes = 1 << 20

// page resolves the caller and hands the request to h. Pages carry data for one person:
// none is cached. Without a session where login is required the browser goes to the
// login page and comes back here afterwards.
func (p *portal) page(h userHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		defer p.recoverPanic(w, r)
		// Refusals the run service audits name the route template, never the ids in it.
		r = r.WithContext(runs.WithRequest(r.Context(), "portal "+r.Pattern))
		pr, err := p.sess.Principal(r)
		if err != nil {
			p.fail(w, r, &user{}, err)
			return
		}
		if pr == nil {
			if p.sess.LoginRequired() && p.sess.Handler() != nil {
				p.toLogin(w, r)
				return
			}
			p.fail(w, r, &user{}, wes.Errorf(wes.EUNAUTHORIZED, "nobody is logged in"))
			return
		}
		name := pr.Name
		if name == "" {
			name = pr.Subject
		}
		h(w, r, &user{P: pr, Name: name, Reviewer: runs.Reviewer(pr), Admin: pr.HasRole(wes.RoleAdmin)})
	})
}

// toLogin sends the browser to the login page, to come back to the page it asked for (a
// GET) or to the page a form was on (a POST: the form is lost, its page is not).
func (p *portal) toLogin(w http.ResponseWriter, r *http.Request) {
	back := r.URL.RequestURI()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		back = p.cfg.Prefix
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path != "" {
			back = ref.RequestURI()
		}
	}
	http.Redirect(w, r, p.cfg.Prefix+"auth/login?return="+url.QueryEscape(back), http.StatusSeeOther)
}

// csrf refuses a posted form without its session's CSRF token (403), before h reads it.
func (p *portal) csrf(h userHandler) userHandler {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			p.fail(w, r, u, wes.Errorf(wes.ETOOLARGE, "the form is larger than this site accepts"))
			return
		}
		if !p.sess.ValidCSRF(r) {
			p.fail(w, r, u, errCSRF)
			return
		}
		h(w, r, u)
	}
}

// recoverPanic turns a handler's panic into the error page (when nothing was sent yet),
// logged with its stack; the page shows neither.
func (p *portal) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	p.log.Error("page handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
	p.fail(w, r, &user{}, wes.Internal(fmt.Errorf("panic: %v", v), "panic"))
}
