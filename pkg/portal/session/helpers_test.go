package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/auth"
	"github.com/spe4hd/enclave/pkg/auth/authtest"
	"github.com/spe4hd/enclave/pkg/portal/session"
	"github.com/spe4hd/enclave/pkg/wes"
)

// env is a portal login against the real Dex and a real Redis: the Manager behind an
// httptest server whose pages show who is logged in.
type env struct {
	dex    *authtest.Dex
	m      *session.Manager
	rdb    *redis.Client
	audit  *audit.Log
	srv    *httptest.Server
	prefix string
	offset atomic.Int64 // how far the Manager's clock is ahead of the wall clock
}

// whoami is what the test pages answer.
type whoami struct {
	Subject, Email, Name string
	Roles, Groups        []string
	CSRF                 string
}

// newEnv starts the portal login; set, when not nil, configures it knowing the server's
// base URL.
func newEnv(t *testing.T, set func(c *session.Config, base string)) *env {
	t.Helper()
	dex := authtest.NewDex(t)
	ctx := context.Background()
	a, err := auth.New(ctx, dex.Config(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dex: dex, rdb: testutil.Redis(t)}
	keyPrefix := testutil.UniqueName("portal-") + ":"
	e.audit = audit.New(e.rdb, audit.Options{Prefix: keyPrefix})
	var serve http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	var cfg session.Config
	if set != nil {
		set(&cfg, e.srv.URL)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/"
	}
	e.prefix = cfg.Prefix
	cfg.ClientID, cfg.KeyPrefix = dex.CLIClientID, keyPrefix // the public client: any loopback callback
	e.m, err = session.New(cfg, session.Deps{Redis: e.rdb, Auth: a, Audit: e.audit})
	if err != nil {
		t.Fatal(err)
	}
	e.m.SetClock(func() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) })
	pages := http.NewServeMux()
	pages.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		p, err := e.m.Principal(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if p == nil {
			http.Error(w, "nobody is logged in", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(whoami{p.Subject, p.Email, p.Name, p.Roles, p.Groups, e.m.CSRFToken(w, r)})
	})
	pages.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		if !e.m.ValidCSRF(r) {
			http.Error(w, "csrf", http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, "accepted")
	})
	portal := e.m.Middleware(pages)
	authH := e.m.Handler()
	serve = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, cfg.Prefix+"auth/") {
			authH.ServeHTTP(w, r)
			return
		}
		portal.ServeHTTP(w, r)
	})
	return e
}

// advance moves the Manager's clock.
func (e *env) advance(d time.Duration) { e.offset.Add(int64(d)) }

// browser is a client with a cookie jar; stop, when set, ends redirect-following at the
// first URL it matches (that response is returned).
func (e *env) browser(t *testing.T, stop func(*url.URL) bool) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if stop != nil && stop(req.URL) {
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	}}
}

// atCallback stops a browser before it reaches the portal's callback.
func (e *env) atCallback(u *url.URL) bool { return u.Path == e.prefix+"auth/callback" }

var formAction = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)

// toDex starts a login at the portal and follows it to Dex's login form; it returns the
// form page's URL and body.
func (e *env) toDex(t *testing.T, hc *http.Client, ret string) (*url.URL, string) {
	t.Helper()
	u := e.srv.URL + e.prefix + "auth/login"
	if ret != "" {
		u += "?return=" + url.QueryEscape(ret)
	}
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `name="password"`) {
		t.Fatalf("login did not reach Dex's form: %d %s %.300s", resp.StatusCode, resp.Request.URL, body)
	}
	return resp.Request.URL, string(body)
}

// submitDex posts user's e-mail and password to Dex's login form, as a person does.
func (e *env) submitDex(t *testing.T, hc *http.Client, base *url.URL, page, user string) *http.Response {
	t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no form on Dex's login page")
	}
	action, err := base.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.PostForm(action.String(), url.Values{"login": {user + "@example.com"}, "password": {e.dex.Password}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// login logs user in through Dex's login page and returns the last response (the page
// the login returned to, or the portal's refusal).
func (e *env) login(t *testing.T, hc *http.Client, user, ret string) (*http.Response, string) {
	t.Helper()
	base, page := e.toDex(t, hc, ret)
	resp := e.submitDex(t, hc, base, page, user)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// callbackURL logs user in at Dex with a browser that stops before the portal's
// callback, and returns the callback URL Dex sent it to (code and state).
func (e *env) callbackURL(t *testing.T, hc *http.Client, user string) *url.URL {
	t.Helper()
	base, page := e.toDex(t, hc, "")
	resp := e.submitDex(t, hc, base, page, user)
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || !e.atCallback(loc) {
		t.Fatalf("Dex did not send the browser to the callback: %d %v", resp.StatusCode, loc)
	}
	return loc
}

// get fetches a portal path with hc.
func (e *env) get(t *testing.T, hc *http.Client, path string) (*http.Response, string) {
	t.Helper()
	resp, err := hc.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// who is the logged-in user as the pages see it (nil when nobody is).
func (e *env) who(t *testing.T, hc *http.Client) *whoami {
	t.Helper()
	resp, body := e.get(t, hc, e.prefix)
	if resp.StatusCode == http.StatusUnauthorized || resp.Request.URL.Path != e.prefix {
		return nil
	}
	var w whoami
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		t.Fatalf("page: %d %q", resp.StatusCode, body)
	}
	return &w
}

// sessionID is the session cookie the browser holds for the portal ("" for none).
func (e *env) sessionID(hc *http.Client) string {
	u, _ := url.Parse(e.srv.URL + e.prefix)
	for _, c := range hc.Jar.Cookies(u) {
		if c.Name == e.m.CookieName() {
			return c.Value
		}
	}
	return ""
}

// withCookie is a client that sends only the session cookie id (no jar).
func (e *env) withCookie(t *testing.T, id, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: id})
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// events returns the audit trail's entries for action.
func (e *env) events(t *testing.T, action string) []wes.AuditEvent {
	t.Helper()
	p, err := e.audit.Query(context.Background(), wes.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	var out []wes.AuditEvent
	for _, x := range p.Entries {
		out = append(out, x.Event)
	}
	return out
}

// postForm posts form to a portal path with hc, not following redirects.
func (e *env) postForm(t *testing.T, hc *http.Client, path string, form url.Values) *http.Response {
	t.Helper()
	nc := *hc
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nc.PostForm(e.srv.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	// The body is read here, so the caller need not close it, and kept for it to read.
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

// rewriteAttempt changes the started login of state in Redis as an attacker who could
// not see it would have it: another nonce ("nonce"), another verifier ("verifier") or
// none ("no verifier").
func (e *env) rewriteAttempt(t *testing.T, state, what string) {
	t.Helper()
	ctx := context.Background()
	key := e.m.LoginKey(state)
	var at map[string]any
	b, err := e.rdb.Get(ctx, key).Bytes()
	if err != nil || json.Unmarshal(b, &at) != nil {
		t.Fatalf("no started login in Redis: %v", err)
	}
	switch what {
	case "nonce":
		at["nonce"] = strings.Repeat("n", 43)
	case "verifier":
		at["verifier"] = strings.Repeat("v", 43)
	default:
		at["verifier"] = ""
	}
	b, _ = json.Marshal(at)
	if err := e.rdb.Set(ctx, key, b, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
}
