package app

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/auth/authtest"
	"github.com/spe4hd/enclave/pkg/portal/session"
	"github.com/spe4hd/enclave/pkg/wes"
)

// browse GETs u with hc and returns the final response's status, body and URL.
func browse(t *testing.T, hc *http.Client, u string) (int, string, *http.Response) {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// TestPortalRoutes: with the portal on, / is the portal's and the API keeps /ga4gh/...
// and /healthz as they were; under another prefix / leads there and other paths stay
// the API's; with the portal off, / is the API's 404 as before.
func TestPortalRoutes(t *testing.T) {
	addr := testutil.RedisAddr(t)
	start := func(t *testing.T, enabled bool, prefix string) *running {
		cfg := testConfig(t, addr)
		cfg.Portal.Enabled, cfg.Portal.Prefix = enabled, prefix
		r := runApp(t, cfg, Roles{API: true, Worker: true}, slog.New(slog.DiscardHandler))
		r.untilReady(t)
		return r
	}
	api := func(t *testing.T, r *running) {
		t.Helper()
		if st, body, h := r.get(t, "/ga4gh/wes/v1/service-info"); st != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("service-info: %d %.100s", st, body)
		}
		if st, _, _ := r.get(t, "/healthz"); st != http.StatusOK {
			t.Errorf("healthz: %d", st)
		}
		if st, body, _ := r.get(t, "/ga4gh/wes/v1/nothing"); st != http.StatusNotFound || !strings.Contains(body, `"status_code"`) {
			t.Errorf("unknown API route: %d %.100s", st, body)
		}
	}
	t.Run("at /", func(t *testing.T) {
		r := start(t, true, "/")
		api(t, r)
		st, body, resp := browse(t, http.DefaultClient, "http://"+r.a.Addr()+"/")
		if st != http.StatusOK || strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET / with the portal on: %d %q %.100s", st, resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("under /portal/", func(t *testing.T) {
		r := start(t, true, "/portal/")
		api(t, r)
		_, _, resp := browse(t, http.DefaultClient, "http://"+r.a.Addr()+"/")
		if !strings.HasPrefix(resp.Request.URL.Path, "/portal/") {
			t.Errorf("GET / went to %s", resp.Request.URL)
		}
		if st, body, _ := r.get(t, "/elsewhere"); st != http.StatusNotFound || !strings.Contains(body, `"status_code"`) {
			t.Errorf("a path outside the prefix: %d %.100s", st, body)
		}
	})
	t.Run("off", func(t *testing.T) {
		r := start(t, false, "/")
		api(t, r)
		if st, body, _ := r.get(t, "/"); st != http.StatusNotFound || !strings.Contains(body, `"status_code"`) {
			t.Errorf("GET / with the portal off: %d %.100s", st, body)
		}
	})
}

var dexForm = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)

// TestPortalLoginInServer logs in to the server's portal through the real Dex: the
// session lands in the server's Redis under its key prefix, the login is in its audit
// trail, and the session cookie never authenticates the API.
func TestPortalLoginInServer(t *testing.T) {
	dex := authtest.NewDex(t)
	cfg := testConfig(t, testutil.RedisAddr(t))
	cfg.Auth.Mode = "oidc"
	o := &cfg.Auth.OIDC
	o.Issuer, o.Audience, o.DiscoveryTimeout = dex.Issuer, []string{dex.ClientID}, 10*time.Second
	o.Roles.Researcher, o.Roles.Admin = []string{authtest.ResearcherGroup}, []string{authtest.AdminGroup}
	cfg.Portal.OIDC.ClientID = dex.CLIClientID // a public client: Dex takes any loopback callback
	r := runApp(t, cfg, Roles{API: true, Worker: true}, slog.New(slog.DiscardHandler))
	r.untilReady(t)
	base := "http://" + r.a.Addr()

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	st, page, resp := browse(t, hc, base+"/auth/login?return=/")
	m := dexForm.FindStringSubmatch(page)
	if st != http.StatusOK || m == nil {
		t.Fatalf("login did not reach Dex: %d %s", st, resp.Request.URL)
	}
	action, _ := resp.Request.URL.Parse(html.UnescapeString(m[1]))
	resp, err := hc.PostForm(action.String(), url.Values{"login": {"alice@example.com"}, "password": {dex.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Host != r.a.Addr() {
		t.Fatalf("after Dex: %d %s", resp.StatusCode, resp.Request.URL)
	}
	ctx := context.Background()
	rdb := testutil.Redis(t)
	keys, _ := rdb.Keys(ctx, cfg.Redis.KeyPrefix+"portal:session:*").Result()
	if len(keys) != 1 {
		t.Errorf("sessions in Redis: %v", keys)
	}
	p, err := audit.New(rdb, audit.Options{Prefix: cfg.Redis.KeyPrefix}).Query(ctx, wes.AuditFilter{Action: session.ActionLogin})
	if err != nil || len(p.Entries) != 1 || p.Entries[0].Event.Outcome != "ok" {
		t.Errorf("login audit: %+v %v", p.Entries, err)
	}
	// The API takes bearer tokens only: the portal's cookie is no credential there.
	if st, body, _ := browse(t, hc, base+"/ga4gh/wes/v1/runs"); st != http.StatusUnauthorized {
		t.Errorf("API with the portal's cookie: %d %.100s", st, body)
	}
}
