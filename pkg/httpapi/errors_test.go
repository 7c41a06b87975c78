package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

func TestErrorStatusTable(t *testing.T) {
	for code, want := range map[string]int{
		wes.EINVALID: 400, wes.EUNAUTHORIZED: 401, wes.EFORBIDDEN: 403, wes.ENOTFOUND: 404,
		wes.ECONFLICT: 409, wes.ETOOLARGE: 413, wes.EUNAVAILABLE: 503, wes.EINTERNAL: 500,
	} {
		if got := statusOf(wes.Errorf(code, "x")); got != want {
			t.Errorf("%s → %d, want %d", code, got, want)
		}
	}
	if got := statusOf(errors.New("plain")); got != 500 {
		t.Errorf("plain error → %d, want 500", got)
	}
}

func TestAuthErrors(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		user   string
		status int
	}{{"", 401}, {"bad", 401}, {"forbidden", 403}} {
		st, b, hdr := h.do(http.MethodGet, BasePath+"/runs", tc.user, "", nil)
		errorBody(t, st, b)
		if st != tc.status {
			t.Errorf("user %q: %d, want %d", tc.user, st, tc.status)
		}
		if (st == 401) != strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("user %q: WWW-Authenticate %q", tc.user, hdr.Get("WWW-Authenticate"))
		}
	}
}

func TestRoutingErrorsAndPanics(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		method, path, user string
		status             int
	}{
		{"GET", "/nope", "alice", 404},
		{"GET", BasePath + "/nope", "alice", 404},
		{"DELETE", BasePath + "/runs", "alice", 405},
		{"PUT", BasePath + "/service-info", "alice", 405},
		{"GET", BasePath + "/runs", "panic", 500},
	} {
		st, b, _ := h.do(tc.method, tc.path, tc.user, "", nil)
		e := errorBody(t, st, b)
		if st != tc.status {
			t.Errorf("%s %s: %d %q, want %d", tc.method, tc.path, st, e.Msg, tc.status)
		}
		if strings.Contains(e.Msg, "exploded") {
			t.Errorf("panic text reached the client: %q", e.Msg)
		}
	}
	if !strings.Contains(h.logs.String(), "authenticator exploded") {
		t.Errorf("panic not logged")
	}
}

// failingStore breaks List and StateCounts with an internal error carrying a secret.
type failingStore struct {
	wes.RunStore
	err error
}

func (f failingStore) List(context.Context, wes.RunFilter) (wes.RunPage, error) {
	return wes.RunPage{}, f.err
}

func (f failingStore) StateCounts(context.Context, string) (map[wes.State]int64, error) {
	return nil, f.err
}

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	secret := errors.New("dial redis://:hunter2@10.0.0.1:6379: refused")
	h := newHarness(t, func(_ *testConfig, d *testDeps) { d.Store = failingStore{d.Store, secret} })
	for _, p := range []string{"/runs", "/service-info"} {
		st, b, _ := h.do(http.MethodGet, BasePath+p, "alice", "", nil)
		e := errorBody(t, st, b)
		if st != 500 || strings.Contains(e.Msg, "hunter2") || strings.Contains(string(b), "redis") {
			t.Errorf("%s: %d %s", p, st, b)
		}
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "hunter2") {
		t.Errorf("internal error not logged with its cause:\n%s", logs)
	}

	// EUNAVAILABLE is the backend's fault but not a bug: 503 with its message, no ERROR line.
	h = newHarness(t, func(_ *testConfig, d *testDeps) {
		d.Store = failingStore{d.Store, wes.Errorf(wes.EUNAVAILABLE, "the run store cannot be reached; try again later")}
	})
	st, b, _ := h.do(http.MethodGet, BasePath+"/runs", "alice", "", nil)
	if e := errorBody(t, st, b); st != 503 || !strings.Contains(e.Msg, "try again") {
		t.Errorf("unavailable: %d %q", st, e.Msg)
	}
	if strings.Contains(h.logs.String(), "level=ERROR") {
		t.Errorf("EUNAVAILABLE logged as an error:\n%s", h.logs)
	}
}

// TestJunkNeverGives500 sends malformed requests of every kind; none may be a 500, and
// every error must be an ErrorResponse.
func TestJunkNeverGives500(t *testing.T) {
	h := newHarness(t)
	id := h.createRun("alice", nil).ID
	ct, good := form(t, validRun()...)
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	junk := []struct{ method, path, ct, body string }{
		{"GET", BasePath + "/runs?page_size=", "", ""},
		{"GET", BasePath + "/runs?page_size=1e3", "", ""},
		{"GET", BasePath + "/runs?page_size=%00", "", ""},
		{"GET", BasePath + "/runs?page_token=%ff%fe", "", ""},
		{"GET", BasePath + "/runs?page_token=" + strings.Repeat("A", 5000), "", ""},
		{"GET", BasePath + "/runs?page_size=1&page_size=2", "", ""},
		{"GET", BasePath + "/runs/%00", "", ""},
		{"GET", BasePath + "/runs/" + strings.Repeat("a", 3000), "", ""},
		{"GET", BasePath + "/runs/" + id + "/tasks?page_token=%%%", "", ""},
		{"GET", BasePath + "/runs/" + id + "/tasks/%00", "", ""},
		{"GET", BasePath + "/runs/" + id + "/logs/stdout?offset=9223372036854775808", "", ""},
		{"GET", BasePath + "/runs/" + id + "/logs/%2e%2e", "", ""},
		{"POST", BasePath + "/runs", "multipart/form-data; boundary=" + boundary, "garbage without parts"},
		{"POST", BasePath + "/runs", "multipart/form-data; boundary=" + boundary, good.String()[:40]},
		{"POST", BasePath + "/runs", "multipart/form-data; boundary=\"", good.String()},
		{"POST", BasePath + "/runs", "multipart/form-data; boundary=" + boundary, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"workflow_type\"\r\n\r\nTST\r\n--" + boundary + "--\r\n"},
		{"POST", BasePath + "/runs", "multipart/form-data; boundary=" + boundary, "--" + boundary + "\r\nContent-Disposition: attachment; filename*=bogus''%zz\r\n\r\nx\r\n--" + boundary + "--\r\n"},
		{"POST", BasePath + "/runs", "multipart/form-data; boundary=" + boundary, "--" + boundary + "\r\nno-colon-header\r\n\r\nx\r\n--" + boundary + "--\r\n"},
		{"POST", BasePath + "/runs", "application/x-www-form-urlencoded", "workflow_type=TST"},
		{"POST", BasePath + "/runs/" + id + "/cancel", "application/json", "{{{{"},
		{"POST", BasePath + "/runs/" + id + "/status", "", ""},
		{"GET", BasePath + "/service-info?x=%zz", "", ""},
	}
	for _, j := range junk {
		st, b, _ := h.do(j.method, j.path, "alice", j.ct, strings.NewReader(j.body))
		if st >= 500 {
			t.Errorf("%s %s (%q): status %d: %s", j.method, j.path, truncate(j.body, 40), st, b)
		}
		if st >= 400 {
			errorBody(t, st, b)
		}
	}
	if dirs := h.runDirs(); len(dirs) != 0 {
		t.Errorf("junk left run directories %v", dirs)
	}
}

func TestNewChecksConfig(t *testing.T) {
	store := failingStore{}
	reg := engines.NewRegistry(testEngine{"tester"})
	ok := testDeps{Store: store, Dispatcher: &recordingDispatcher{}, Engines: reg}
	for _, tc := range []struct {
		name string
		cfg  testConfig
		deps testDeps
		msg  string
	}{
		{"no data dir", testConfig{}, ok, "DataDir is required"},
		{"bad public url", testConfig{DataDir: "d", PublicURL: "ftp://x"}, ok, "PublicURL"},
		{"public url with query", testConfig{DataDir: "d", PublicURL: "https://x/?a=1"}, ok, "PublicURL"},
		{"bad auth mode", testConfig{DataDir: "d", AuthMode: "basic"}, ok, "AuthMode"},
		{"oidc without authenticator", testConfig{DataDir: "d", AuthMode: "oidc"}, ok, "Authenticate"},
		{"default above max", testConfig{DataDir: "d", DefaultPageSize: 10, MaxPageSize: 5}, ok, "DefaultPageSize"},
		{"negative limit", testConfig{DataDir: "d", MaxParts: -1}, ok, "positive"},
		{"no store", testConfig{DataDir: "d"}, testDeps{Dispatcher: ok.Dispatcher, Engines: reg}, "Store"},
		{"no dispatcher", testConfig{DataDir: "d"}, testDeps{Store: store, Engines: reg}, "Dispatcher"},
		{"no engines", testConfig{DataDir: "d"}, testDeps{Store: store, Dispatcher: ok.Dispatcher}, "Engines"},
	} {
		if _, err := newAPI(tc.cfg, tc.deps); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err %v, want one mentioning %q", tc.name, err, tc.msg)
		}
	}
	if _, err := newAPI(testConfig{DataDir: t.TempDir()}, ok); err != nil {
		t.Errorf("minimal config: %v", err)
	}
}
