package session_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/auth/authtest"
	"github.com/spe4hd/enclave/pkg/portal/session"
	"github.com/spe4hd/enclave/pkg/wes"
)

// TestLoginThroughDex logs each test user in through Dex's real login page: the
// callback starts a session whose principal has the user's roles and groups, the
// cookie is opaque and HttpOnly, the browser returns to the page it asked for, and the
// login is in the audit trail without any token. A user without a role is refused.
func TestLoginThroughDex(t *testing.T) {
	e := newEnv(t, nil)
	for _, tt := range []struct{ user, role, group string }{
		{"alice", wes.RoleResearcher, authtest.ResearcherGroup},
		{"carol", wes.RoleDataController, authtest.DataControllerGroup},
		{"dave", wes.RoleAdmin, authtest.AdminGroup},
	} {
		t.Run(tt.user, func(t *testing.T) {
			var set []*http.Cookie
			hc := e.browser(t, nil)
			hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
				if req.Response != nil && e.atCallback(req.Response.Request.URL) {
					set = req.Response.Cookies()
				}
				return nil
			}
			resp, body := e.login(t, hc, tt.user, "/runs?state=RUNNING")
			if resp.Request.URL.Path != "/runs" || resp.Request.URL.RawQuery != "state=RUNNING" {
				t.Fatalf("login returned to %s (%d %.200s), want /runs?state=RUNNING", resp.Request.URL, resp.StatusCode, body)
			}
			w := e.who(t, hc)
			if w == nil || !slices.Equal(w.Roles, []string{tt.role}) || !slices.Contains(w.Groups, tt.group) ||
				w.Email != tt.user+"@example.com" || w.Subject == "" || len(w.CSRF) < 40 {
				t.Fatalf("principal %+v", w)
			}
			var ck *http.Cookie
			for _, c := range set {
				if c.Name == "enclave_session" {
					ck = c
				}
			}
			if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure || ck.MaxAge != 0 {
				t.Fatalf("session cookie %+v", ck)
			}
			// Redis keeps the session under the id's digest, with a TTL, and no id.
			sum := sha256.Sum256([]byte(ck.Value))
			key := e.m.SessionKey(ck.Value)
			if !strings.HasSuffix(key, hex.EncodeToString(sum[:])) {
				t.Errorf("key %s is not the id's digest", key)
			}
			ttl, err := e.rdb.TTL(context.Background(), key).Result()
			if err != nil || ttl <= 0 || ttl > session.DefaultIdleTimeout+time.Minute {
				t.Errorf("session TTL %v %v", ttl, err)
			}
			if v, _ := e.rdb.Get(context.Background(), key).Result(); strings.Contains(v, ck.Value) {
				t.Error("the session record holds its own id")
			}
			var found bool
			for _, ev := range e.events(t, session.ActionLogin) {
				if ev.Actor == w.Subject && ev.Outcome == "ok" {
					found = true
				}
			}
			if !found {
				t.Errorf("no audited login for %s", tt.user)
			}
		})
	}
	t.Run("erin has no role", func(t *testing.T) {
		hc := e.browser(t, nil)
		resp, body := e.login(t, hc, "erin", "")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "no Enclave role") || e.sessionID(hc) != "" {
			t.Fatalf("erin: %d %q cookie %q", resp.StatusCode, body, e.sessionID(hc))
		}
		if e.who(t, hc) != nil {
			t.Error("erin is logged in")
		}
	})
	// No audit event holds a token (JWTs start with eyJ).
	for _, ev := range e.events(t, "portal.*") {
		for k, v := range ev.Detail {
			if strings.Contains(v, "eyJ") {
				t.Errorf("audit detail %s holds a token", k)
			}
		}
		if ev.Outcome == "refused" && ev.Detail["cause"] == "" {
			t.Errorf("refused login without a cause: %+v", ev)
		}
	}
}

// TestCallbackRefusals checks what the callback refuses: a tampered state, a replayed
// callback, a callback in another browser, and a login whose nonce or PKCE verifier is
// not the one sent; and that the code cannot be redeemed at Dex without the verifier.
func TestCallbackRefusals(t *testing.T) {
	e := newEnv(t, nil)
	refused := func(t *testing.T, hc *http.Client, u *url.URL, want string) {
		t.Helper()
		resp, err := hc.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.sessionID(hc) != "" {
			t.Errorf("%s: %d, cookie %q", want, resp.StatusCode, e.sessionID(hc))
		}
		evs := e.events(t, session.ActionLogin)
		if n := len(evs); n == 0 || evs[n-1].Outcome != "refused" || evs[n-1].Detail["cause"] != want {
			t.Errorf("%s: last audit event %+v", want, evs)
		}
	}

	t.Run("tampered state, then the real one; replayed", func(t *testing.T) {
		hc := e.browser(t, e.atCallback)
		cb := e.callbackURL(t, hc, "alice")
		bad := *cb
		q := bad.Query()
		st := q.Get("state")
		if st[0] == 'A' {
			q.Set("state", "B"+st[1:])
		} else {
			q.Set("state", "A"+st[1:])
		}
		bad.RawQuery = q.Encode()
		refused(t, hc, &bad, "unknown_state")
		// The genuine callback still logs in (the forged one consumed nothing).
		resp, err := hc.Get(cb.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" || e.who(t, hc) == nil {
			t.Fatalf("genuine callback: %d %s", resp.StatusCode, resp.Request.URL)
		}
		// Once only.
		hc2 := e.browser(t, e.atCallback)
		refused(t, hc2, cb, "unknown_state")
	})

	t.Run("another browser", func(t *testing.T) {
		cb := e.callbackURL(t, e.browser(t, e.atCallback), "alice")
		refused(t, e.browser(t, e.atCallback), cb, "other_browser")
	})

	t.Run("nonce or verifier not the login's", func(t *testing.T) {
		for field, cause := range map[string]string{"nonce": "id_token", "verifier": "code_exchange"} {
			hc := e.browser(t, e.atCallback)
			cb := e.callbackURL(t, hc, "bob")
			e.rewriteAttempt(t, cb.Query().Get("state"), field)
			refused(t, hc, cb, cause)
		}
		hc := e.browser(t, e.atCallback)
		cb := e.callbackURL(t, hc, "bob")
		e.rewriteAttempt(t, cb.Query().Get("state"), "no verifier")
		refused(t, hc, cb, "no_verifier")
	})

	t.Run("Dex wants the verifier", func(t *testing.T) {
		// The login sent a code challenge, so Dex refuses the code without the verifier
		// (and with a wrong one): a stolen code is worth nothing.
		cb := e.callbackURL(t, e.browser(t, e.atCallback), "alice")
		for _, verifier := range []string{"", strings.Repeat("x", 43)} {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
				"redirect_uri": {e.srv.URL + "/auth/callback"}, "client_id": {e.dex.CLIClientID}}
			if verifier != "" {
				form.Set("code_verifier", verifier)
			}
			resp, err := http.PostForm(e.dex.Issuer+"/token", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("Dex gave tokens for a code without its verifier (verifier %q)", verifier)
			}
		}
	})

	t.Run("provider error", func(t *testing.T) {
		hc := e.browser(t, nil)
		e.toDex(t, hc, "")
		refused(t, hc, &url.URL{Scheme: "http", Host: e.srv.Listener.Addr().String(), Path: "/auth/callback",
			RawQuery: "error=access_denied&state=x"}, "provider_error")
	})
}

// TestReturnAddress refuses return addresses that leave the portal (open redirect).
func TestReturnAddress(t *testing.T) {
	e := newEnv(t, func(c *session.Config, _ string) { c.Prefix = "/portal/" })
	hc := e.browser(t, func(*url.URL) bool { return true })
	for _, bad := range []string{"//evil.example", "//evil.example/portal/", "https://evil.example/portal/",
		`/\evil.example`, `/portal/\\evil`, "javascript:alert(1)", "/other", "portal/runs", "/portal/../other", "/%2e%2e/other",
		"/portal/runs\r\nSet-Cookie: x=y"} {
		resp, err := hc.Get(e.srv.URL + "/portal/auth/login?return=" + url.QueryEscape(bad))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("return=%q: %d Location %q", bad, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A page of the portal is accepted, and it is where the login ends.
	hc = e.browser(t, nil)
	resp, _ := e.login(t, hc, "alice", "/portal/runs/abc?x=1")
	if resp.Request.URL.Path != "/portal/runs/abc" || resp.Request.URL.RawQuery != "x=1" {
		t.Errorf("returned to %s", resp.Request.URL)
	}
}
