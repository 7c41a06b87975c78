package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

const wantCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser("alice")
	id := h.createRun("alice", nil).ID
	for _, path := range []string{"/catalog", "/catalog/cohort-count-smk", "/runs", "/runs/" + id, "/runs/" + id + "/status",
		"/nowhere", "/runs/" + strings.Repeat("0", 36)} {
		pg := b.get(path)
		for k, want := range map[string]string{"Content-Security-Policy": wantCSP, "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "same-origin", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
			if got := pg.header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
	css := b.get("/static/portal.css")
	if css.status != 200 || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") || css.header.Get("Content-Security-Policy") != wantCSP {
		t.Errorf("portal.css: %d %v", css.status, css.header)
	}
	if st := b.get("/static/").status; st != http.StatusNotFound {
		t.Errorf("static directory listing: %d, want 404", st)
	}
}

// TestNoInlineScriptOrStyle: every page keeps to the CSP (no inline script, style
// attribute or event handler), so the CSP never has to be loosened for it.
func TestNoInlineScriptOrStyle(t *testing.T) {
	h := newHarness(t, nil)
	r := h.createRun("alice", nil)
	h.finish(r.ID, h.heldOutput(r, "outputs/summary.csv", "a,b\n1,2\n"))
	for user, paths := range map[string][]string{
		"alice": {"/catalog", "/catalog/cohort-count-smk", "/runs", "/runs/" + r.ID, "/nowhere"},
		"carol": {"/review", "/review/" + r.ID},
		"root":  {"/audit"},
	} {
		for _, path := range paths {
			body := h.browser(user).get(path).body
			for _, bad := range []string{"<script>", "style=", " onclick=", " onload=", "javascript:"} {
				if strings.Contains(body, bad) {
					t.Errorf("%s GET %s has %q", user, path, bad)
				}
			}
			mustContain(t, path, body, `<main id="main"`, `<nav aria-label="Main">`, "<h1>", "<header")
		}
	}
}

func TestLoginRequired(t *testing.T) {
	h := newHarness(t, nil)
	pg := h.browser("").get("/runs?state=RUNNING")
	if pg.status != http.StatusSeeOther || pg.header.Get("Location") != "/auth/login?return="+url.QueryEscape("/runs?state=RUNNING") {
		t.Fatalf("anonymous GET /runs: %d to %q, want 303 to the login page", pg.status, pg.header.Get("Location"))
	}
	if pg := h.browser("").get("/auth/login"); pg.body != "login page" {
		t.Errorf("auth/ is not the sessions' handler: %q", pg.body)
	}
}

func TestAuthOffNotice(t *testing.T) {
	h := newHarness(t, Anonymous(nil))
	b := h.browser("")
	pg := b.get("/")
	if pg.status != http.StatusSeeOther || pg.header.Get("Location") != "/catalog" {
		t.Fatalf("GET /: %d %q", pg.status, pg.header.Get("Location"))
	}
	for _, path := range []string{"/catalog", "/runs", "/review", "/audit", "/nowhere"} {
		pg := b.get(path)
		mustContain(t, path, pg.body, "Authentication is off", "Signed in as <strong>anonymous</strong>")
		mustNotContain(t, path, pg.body, "Log out")
	}
}

func TestNavByRole(t *testing.T) {
	h := newHarness(t, nil)
	nav := func(user string) string {
		body := h.browser(user).get("/runs").body
		i, j := strings.Index(body, `<nav aria-label="Main">`), strings.Index(body, "</nav>")
		return body[i:j]
	}
	for user, want := range map[string][2]bool{"alice": {false, false}, "carol": {true, false}, "root": {true, true}} {
		n := nav(user)
		if got := [2]bool{strings.Contains(n, ">Review<"), strings.Contains(n, ">Audit<")}; got != want {
			t.Errorf("%s: nav shows Review, Audit = %v, want %v", user, got, want)
		}
		mustContain(t, user+" nav", n, ">Catalogue<", ">Runs<")
	}
	if pg := h.browser("alice").get("/audit"); pg.status != http.StatusForbidden {
		t.Errorf("alice GET /audit: %d, want 403", pg.status)
	}
	if pg := h.browser("alice").get("/review"); pg.status != http.StatusForbidden {
		t.Errorf("alice GET /review: %d, want 403", pg.status)
	}
	pg := h.browser("alice").get("/catalog")
	mustContain(t, "alice's page", pg.body, "Alice A.", "Log out", `action="/auth/logout"`)
}

func TestCSRF(t *testing.T) {
	h := newHarness(t, nil)
	r := h.createRun("alice", nil)
	b := h.browser("alice")
	form := func() url.Values { return url.Values{"param.cohort": {"cohort-demo"}, "param.min_count": {"5"}} }
	for name, pg := range map[string]page{
		"no token":      b.post("/catalog/cohort-count-smk/run", form(), false),
		"wrong token":   b.post("/catalog/cohort-count-smk/run", url.Values{"csrf": {"x.y"}, "param.cohort": {"cohort-demo"}}, false),
		"cancel":        b.post("/runs/"+r.ID+"/cancel", url.Values{}, false),
		"other browser": h.browser("alice").post("/runs/"+r.ID+"/cancel", url.Values{"csrf": {b.token()}}, false),
	} {
		if pg.status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, pg.status)
		}
		mustContain(t, name, pg.body, "Form expired", "reload the page")
	}
	if got := h.getRun(r.ID).State; got != wes.StateQueued {
		t.Errorf("run is %s after refused cancels", got)
	}
	list, _, err := h.svc.List(t.Context(), testUsers["alice"], 10, "", runsFilter())
	if err != nil || len(list) != 1 {
		t.Errorf("alice has %d runs (%v), want only the one made by the test", len(list), err)
	}
}
