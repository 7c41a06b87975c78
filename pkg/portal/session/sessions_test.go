package session_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/portal/session"
)

// loggedIn returns a browser with user logged in.
func (e *env) loggedIn(t *testing.T, user string) (*http.Client, *whoami) {
	t.Helper()
	hc := e.browser(t, nil)
	if resp, body := e.login(t, hc, user, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %.200s", user, resp.StatusCode, body)
	}
	w := e.who(t, hc)
	if w == nil {
		t.Fatalf("%s is not logged in", user)
	}
	return hc, w
}

// TestLogoutNeedsCSRF: logout without the session's CSRF token (none, wrong, another
// session's) is refused and the session lives on; with it the session is gone from
// Redis, the cookie is cleared, and the browser goes to the portal (Dex publishes no
// end_session_endpoint). Forms posted to the pages are held to the same token.
func TestLogoutNeedsCSRF(t *testing.T) {
	e := newEnv(t, nil)
	hc, alice := e.loggedIn(t, "alice")
	_, bob := e.loggedIn(t, "bob")
	id := e.sessionID(hc)
	key := e.m.SessionKey(id)
	ctx := context.Background()
	for name, form := range map[string]url.Values{"none": {}, "empty": {"csrf": {""}}, "wrong": {"csrf": {alice.CSRF + "x"}}, "bob's": {"csrf": {bob.CSRF}}} {
		if resp := e.postForm(t, hc, "/auth/logout", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("logout with %s token: %d", name, resp.StatusCode)
		}
		if resp := e.postForm(t, hc, "/form", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("form with %s token: %d", name, resp.StatusCode)
		}
	}
	if n, _ := e.rdb.Exists(ctx, key).Result(); n != 1 || e.who(t, hc) == nil {
		t.Fatal("a refused logout ended the session")
	}
	if resp := e.postForm(t, hc, "/form", url.Values{"csrf": {alice.CSRF}}); resp.StatusCode != http.StatusOK {
		t.Errorf("form with the session's token: %d", resp.StatusCode)
	}
	if resp, err := hc.Get(e.srv.URL + "/auth/logout"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET logout: %v %v", resp.StatusCode, err)
	}

	resp := e.postForm(t, hc, "/auth/logout", url.Values{"csrf": {alice.CSRF}})
	// A page on the portal's own origin (a redirect on from the POST would meet the
	// page's form-action 'self' in the browser), leading back to the portal.
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" ||
		!strings.Contains(string(b), "You are logged out") || !strings.Contains(string(b), `href="/"`) {
		t.Fatalf("logout: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), b)
	}
	if n, _ := e.rdb.Exists(ctx, key).Result(); n != 0 {
		t.Error("the session is still in Redis after logout")
	}
	if e.sessionID(hc) != "" || e.who(t, hc) != nil {
		t.Error("still logged in after logout")
	}
	// The old cookie, replayed, is a session that ended.
	if r := e.withCookie(t, id, "/"); r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "notice=expired") {
		t.Errorf("replayed cookie after logout: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if evs := e.events(t, session.ActionLogout); len(evs) != 1 || evs[0].Actor != alice.Subject {
		t.Errorf("logout audit: %+v", evs)
	}
}

// TestRPInitiatedLogout: the logged-out page leads to the provider's end_session_endpoint
// with the ID token hint when the provider has one (a link: the browser would block a
// redirect from the logout POST to another origin under form-action 'self').
func TestRPInitiatedLogout(t *testing.T) {
	e := newEnv(t, func(c *session.Config, base string) { c.PublicURL = base + "/" })
	e.m.SetEndSessionEndpoint(e.dex.Issuer + "/logout")
	hc, alice := e.loggedIn(t, "carol")
	resp := e.postForm(t, hc, "/auth/logout", url.Values{"csrf": {alice.CSRF}})
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(string(b), -1)
	var link string
	for _, x := range m {
		if u := html.UnescapeString(x[1]); strings.HasPrefix(u, e.dex.Issuer+"/logout?") {
			link = u
		}
	}
	loc, err := url.Parse(link)
	if resp.StatusCode != http.StatusOK || link == "" || err != nil {
		t.Fatalf("logout: %d, no link to the provider's logout in %s", resp.StatusCode, b)
	}
	q := loc.Query()
	if q.Get("client_id") != e.dex.CLIClientID || q.Get("post_logout_redirect_uri") != e.srv.URL+"/" || strings.Count(q.Get("id_token_hint"), ".") != 2 {
		t.Errorf("end-session query %v", q)
	}
}

// TestIdleAndAbsoluteTimeout: a session unused for the idle timeout, or older than the
// absolute one however active, sends the browser to the login with a notice.
func TestIdleAndAbsoluteTimeout(t *testing.T) {
	e := newEnv(t, func(c *session.Config, _ string) { c.IdleTimeout, c.AbsoluteTimeout = 30*time.Minute, 2*time.Hour })
	expired := func(t *testing.T, hc *http.Client) {
		t.Helper()
		resp, body := e.get(t, hc, "/runs?page=2")
		if resp.Request.URL.Path != "/auth/login" || resp.Request.URL.Query().Get("return") != "/runs?page=2" ||
			!strings.Contains(body, "Your session has ended") || !strings.Contains(body, "Log in again") {
			t.Fatalf("expired session: %d %s %.300s", resp.StatusCode, resp.Request.URL, body)
		}
		if e.sessionID(hc) != "" {
			t.Error("the expired session's cookie was not cleared")
		}
	}
	t.Run("idle", func(t *testing.T) {
		hc, _ := e.loggedIn(t, "alice")
		e.advance(29 * time.Minute)
		if e.who(t, hc) == nil {
			t.Fatal("logged out before the idle timeout")
		}
		e.advance(30*time.Minute + time.Second)
		expired(t, hc)
	})
	t.Run("absolute", func(t *testing.T) {
		hc, _ := e.loggedIn(t, "alice")
		for range 4 { // 100 minutes, each step within the idle timeout
			e.advance(25 * time.Minute)
			if e.who(t, hc) == nil {
				t.Fatal("an active session ended before the absolute timeout")
			}
		}
		e.advance(25 * time.Minute)
		expired(t, hc)
	})
}

// TestSessionFixation: the session id after login is new, whatever cookie the browser
// held before (one planted by an attacker, or an earlier session, which ends).
func TestSessionFixation(t *testing.T) {
	e := newEnv(t, nil)
	hc := e.browser(t, nil)
	planted := strings.Repeat("A", 43)
	u, _ := url.Parse(e.srv.URL + "/")
	hc.Jar.SetCookies(u, []*http.Cookie{{Name: e.m.CookieName(), Value: planted, Path: "/"}})
	e.login(t, hc, "alice", "")
	first := e.sessionID(hc)
	if first == "" || first == planted || e.who(t, hc) == nil {
		t.Fatalf("session id after login %q (planted %q)", first, planted)
	}
	if r := e.withCookie(t, planted, "/"); r.StatusCode == http.StatusOK {
		t.Error("the planted id is logged in")
	}
	// Logging in again, even as the same user, replaces the id and ends the old session.
	e.login(t, hc, "alice", "")
	second := e.sessionID(hc)
	if second == "" || second == first {
		t.Fatalf("second login kept the id")
	}
	if n, _ := e.rdb.Exists(context.Background(), e.m.SessionKey(first)).Result(); n != 0 {
		t.Error("the earlier session survived a new login")
	}
}

// TestRotation: a session in use gets a new id every few minutes; the old one keeps
// working only briefly and dies with the session at logout.
func TestRotation(t *testing.T) {
	e := newEnv(t, nil)
	hc, w := e.loggedIn(t, "dave")
	old := e.sessionID(hc)
	e.advance(11 * time.Minute)
	if e.who(t, hc) == nil {
		t.Fatal("logged out by the rotation")
	}
	cur := e.sessionID(hc)
	if cur == old || cur == "" {
		t.Fatal("the session id was not rotated")
	}
	ctx := context.Background()
	if ttl, _ := e.rdb.TTL(ctx, e.m.SessionKey(old)).Result(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("the replaced id lives %v", ttl)
	}
	if r := e.withCookie(t, old, "/"); r.StatusCode != http.StatusOK {
		t.Errorf("the replaced id within its grace: %d", r.StatusCode)
	}
	if r := e.postForm(t, hc, "/auth/logout", url.Values{"csrf": {w.CSRF}}); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	if r := e.withCookie(t, old, "/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the replaced id after logout: %d", r.StatusCode)
	}
}

// TestRefresh: an expired access token is renewed with the refresh token at Dex; when
// the provider refuses the refresh, the session ends.
func TestRefresh(t *testing.T) {
	e := newEnv(t, nil)
	hc, _ := e.loggedIn(t, "carol")
	key := e.m.SessionKey(e.sessionID(hc))
	ctx := context.Background()
	edit := func(f func(map[string]any)) {
		var rec map[string]any
		b, _ := e.rdb.Get(ctx, key).Bytes()
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		f(rec)
		b, _ = json.Marshal(rec)
		e.rdb.Set(ctx, key, b, time.Hour)
	}
	var before string
	edit(func(r map[string]any) {
		before, _ = r["refresh_token"].(string)
		r["access_expiry"] = time.Now().Add(-time.Minute)
	})
	if before == "" {
		t.Fatal("Dex gave no refresh token (offline_access)")
	}
	w := e.who(t, hc)
	if w == nil || w.Email != "carol@example.com" {
		t.Fatalf("after refresh: %+v", w)
	}
	edit(func(r map[string]any) {
		if r["refresh_token"] == before {
			t.Error("the refresh token was not renewed")
		}
		if exp, _ := time.Parse(time.RFC3339Nano, r["access_expiry"].(string)); !exp.After(time.Now()) {
			t.Errorf("access expiry %v after refresh", exp)
		}
		r["access_expiry"] = time.Now().Add(-time.Minute)
		r["refresh_token"] = "revoked"
	})
	if e.who(t, hc) != nil {
		t.Fatal("a session whose refresh was refused lives on")
	}
	if n, _ := e.rdb.Exists(ctx, key).Result(); n != 0 {
		t.Error("the session is still in Redis")
	}
}

// TestSecureCookie: over https the session cookie is Secure and __Host- named.
func TestSecureCookie(t *testing.T) {
	e := newEnv(t, func(c *session.Config, base string) { c.Secure, c.RedirectURL = true, base+"/auth/callback" })
	hc := e.browser(t, e.atCallback)
	cb := e.callbackURL(t, hc, "alice")
	// The jar will not send the Secure login cookie over http: send it by hand.
	req, _ := http.NewRequest(http.MethodGet, cb.String(), nil)
	for _, c := range hc.Jar.Cookies(cb) {
		req.AddCookie(c)
	}
	u, _ := url.Parse(e.srv.URL)
	u.Scheme = "https"
	for _, c := range hc.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-enclave_session" {
			ck = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || ck == nil || !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" {
		t.Fatalf("callback over https: %d %+v", resp.StatusCode, resp.Cookies())
	}
}
