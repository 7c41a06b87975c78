package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/auth"
	"github.com/spe4hd/enclave/pkg/auth/authtest"
	"github.com/spe4hd/enclave/pkg/wes"
)

// TestIsolationMatrix runs two researchers (alice, bob), a data controller (carol), an
// admin (dave), a user without a role (erin), no token and a forged token against every
// endpoint, with the real Authenticator, real Dex tokens and the real Redis store.
func TestIsolationMatrix(t *testing.T) {
	dex := authtest.NewDex(t)
	authLogs := &syncBuffer{}
	a, err := auth.New(context.Background(), dex.Config(),
		slog.New(slog.NewTextHandler(authLogs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(_ *testConfig, d *testDeps) { d.Authenticate = a.Authenticate })

	tokens := map[string]string{}
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		tokens[u] = dex.Token(t, u)
	}
	parts := strings.Split(tokens["alice"], ".")
	tokens["forged"] = parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])) // alice's claims, bad signature
	tokens["none"] = ""

	runA := h.submit(tokens["alice"], validRun()...)
	runB := h.submit(tokens["bob"], validRun()...)
	for _, id := range []string{runA, runB} {
		l := wes.LayoutFor(h.dataDir, id)
		writeTasks(t, l.WorkDir(), []wes.Task{{ID: "t1", Name: "step"}})
		if err := os.MkdirAll(filepath.Dir(l.StdoutPath()), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(l.StdoutPath(), []byte("out of "+id), 0o640); err != nil {
			t.Fatal(err)
		}
	}

	// Expected status per user: for alice's run, for bob's run.
	type want struct{ a, b int }
	owner := map[string]want{"alice": {200, 404}, "bob": {404, 200}, "carol": {200, 200}, "dave": {200, 200},
		"erin": {403, 403}, "none": {401, 401}, "forged": {401, 401}}
	users := []string{"alice", "bob", "carol", "dave", "erin", "none", "forged"}
	check := func(t *testing.T, method, path, user string, status int, body func() (string, string)) []byte {
		t.Helper()
		var st int
		var b []byte
		var hdr http.Header
		if body != nil {
			ct, r := body()
			st, b, hdr = h.do(method, path, tokens[user], ct, strings.NewReader(r))
		} else {
			st, b, hdr = h.do(method, path, tokens[user], "", nil)
		}
		if st != status {
			t.Errorf("%s %s as %s: %d, want %d: %s", method, path, user, st, status, b)
		}
		if st >= 400 {
			errorBody(t, st, b)
		}
		if (st == 401) != strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s %s as %s: status %d with WWW-Authenticate %q", method, path, user, st, hdr.Get("WWW-Authenticate"))
		}
		return b
	}

	t.Run("service-info", func(t *testing.T) {
		queued := map[string]int64{"alice": 1, "bob": 1, "carol": 2, "dave": 2, "erin": 0, "none": 0}
		for _, u := range users {
			status := 200
			if u == "forged" {
				status = 401 // credentials that are sent are checked, even here
			}
			b := check(t, "GET", BasePath+"/service-info", u, status, nil)
			if status != 200 {
				continue
			}
			var si api.ServiceInfo
			if err := json.Unmarshal(b, &si); err != nil {
				t.Fatal(err)
			}
			if si.SystemStateCounts["QUEUED"] != queued[u] || si.Tags["auth_mode"] != "oidc" {
				t.Errorf("service-info as %s: QUEUED %d (want %d), auth_mode %q", u, si.SystemStateCounts["QUEUED"], queued[u], si.Tags["auth_mode"])
			}
		}
	})
	t.Run("list", func(t *testing.T) {
		sees := map[string][]string{"alice": {runA}, "bob": {runB}, "carol": {runB, runA}, "dave": {runB, runA}}
		for _, u := range users {
			status := map[string]int{"erin": 403, "none": 401, "forged": 401}[u]
			if status == 0 {
				status = 200
			}
			b := check(t, "GET", BasePath+"/runs?page_size=10", u, status, nil)
			if status != 200 {
				continue
			}
			var l api.RunListResponse
			if err := json.Unmarshal(b, &l); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range l.Runs {
				ids = append(ids, r.RunId)
			}
			if !slices.Equal(ids, sees[u]) {
				t.Errorf("list as %s: %v, want %v", u, ids, sees[u])
			}
		}
	})
	for _, ep := range []struct{ name, suffix string }{
		{"get", ""}, {"status", "/status"}, {"tasks", "/tasks"}, {"task", "/tasks/t1"}, {"logs", "/logs/stdout"},
	} {
		t.Run(ep.name, func(t *testing.T) {
			for _, u := range users {
				for id, status := range map[string]int{runA: owner[u].a, runB: owner[u].b} {
					b := check(t, "GET", BasePath+"/runs/"+id+ep.suffix, u, status, nil)
					if status == 200 && ep.name == "logs" && string(b) != "out of "+id {
						t.Errorf("logs of %s as %s: %q", id, u, b)
					}
					if status >= 400 && (strings.Contains(string(b), "@example.com") || strings.Contains(string(b), "bob")) {
						t.Errorf("a refusal names the owner: %s", b)
					}
				}
			}
		})
	}
	t.Run("submit", func(t *testing.T) {
		for _, u := range users {
			status := map[string]int{"alice": 200, "bob": 200, "carol": 403, "dave": 403, "erin": 403, "none": 401, "forged": 401}[u]
			check(t, "POST", BasePath+"/runs", u, status, func() (string, string) {
				ct, body := form(t, validRun()...)
				return ct, body.String()
			})
		}
	})
	t.Run("cancel", func(t *testing.T) {
		// Data controllers see every run but may not stop others' runs: 403 where they see it.
		cancel := map[string]want{"alice": {200, 404}, "bob": {404, 200}, "carol": {403, 403}, "dave": {200, 200},
			"erin": {403, 403}, "none": {401, 401}, "forged": {401, 401}}
		for _, u := range users {
			check(t, "POST", BasePath+"/runs/"+runA+"/cancel", u, cancel[u].a, nil)
			check(t, "POST", BasePath+"/runs/"+runB+"/cancel", u, cancel[u].b, nil)
		}
		_, canceled := h.disp.calls()
		if len(canceled) != 4 { // alice A, bob B, dave A and B
			t.Errorf("dispatched cancels %v, want 4", canceled)
		}
	})

	for _, where := range []struct{ name, text string }{{"server log", h.logs.String()}, {"auth log", authLogs.String()}} {
		for u, tok := range tokens {
			for _, part := range strings.Split(tok, ".") {
				if len(part) > 12 && strings.Contains(where.text, part) {
					t.Errorf("the %s contains part of %s's token", where.name, u)
				}
			}
		}
	}
}
