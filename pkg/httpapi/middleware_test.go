package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
)

// Without a PublicURL the absolute URLs in answers are made from the request's Host and
// scheme (X-Forwarded-Proto believed for http and https only), and a Host that could
// not be one gives localhost.
func TestBaseURLFromRequest(t *testing.T) {
	h := newHarness(t)
	id := h.createRun("alice", nil).ID
	for _, tc := range []struct{ host, proto, want string }{
		{"wes.example.org:8443", "", "http://wes.example.org:8443"},
		{"wes.example.org", "HTTPS", "https://wes.example.org"},
		{"wes.example.org", "gopher", "http://wes.example.org"},
		{"evil.example@wes.example.org", "", "http://localhost"},
	} {
		req, err := http.NewRequest(http.MethodGet, h.srv.URL+BasePath+"/runs/"+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		req.Header.Set("Authorization", "Bearer alice")
		if tc.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var rl api.RunLog
		err = json.NewDecoder(resp.Body).Decode(&rl)
		resp.Body.Close()
		if want := tc.want + BasePath + "/runs/" + id + "/tasks"; err != nil || rl.TaskLogsUrl != want {
			t.Errorf("Host %q, X-Forwarded-Proto %q: task_logs_url %q (%v), want %q", tc.host, tc.proto, rl.TaskLogsUrl, err, want)
		}
	}
}

// The access log has one debug line per request, with the route pattern and never the
// run id; at a higher level it writes nothing.
func TestAccessLog(t *testing.T) {
	h := newHarness(t)
	id := h.createRun("alice", nil).ID
	if st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+id+"/status", "alice", "", nil); st != http.StatusOK {
		t.Fatalf("status: %d %s", st, b)
	}
	var lines []string
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, "msg=request ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "method=GET route=/ga4gh/wes/v1/runs/:run_id/status status=200 duration=") ||
		strings.Contains(lines[0], id) {
		t.Errorf("access log lines %q", lines)
	}

	quiet := newHarness(t, func(_ *testConfig, d *testDeps) {
		d.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	before := strings.Count(h.logs.String(), "msg=request ")
	if st, _, _ := quiet.do(http.MethodGet, BasePath+"/runs/"+id+"/status", "alice", "", nil); st != http.StatusNotFound {
		t.Errorf("status of a run in another store: %d", st)
	}
	if n := strings.Count(h.logs.String(), "msg=request "); n != before {
		t.Errorf("an info logger got %d access lines", n-before)
	}
}
