package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

func TestRunWaitExitCodes(t *testing.T) {
	t.Parallel()
	f := newFakeWES(t, wesclient.BasePath)
	q, r, c := api.StateQUEUED, api.StateRUNNING, api.StateCOMPLETE
	f.addRun("ok", []api.State{q, q, r, r, c})
	f.addRun("failed", []api.State{q, r, api.StateEXECUTORERROR})
	f.addRun("syserr", []api.State{q, api.StateSYSTEMERROR})
	f.addRun("canceled", []api.State{r, api.StateCANCELED})
	f.addRun("slow", []api.State{r}).tasks = []api.TaskLog{{Id: "t1"}, {Id: "t2"}, {Id: "t3"}}
	env := []string{"ENCLAVE_URL=" + f.url()}

	tests := []struct {
		id        string
		extra     []string
		code      int
		stdout    string
		stderrHas []string
	}{
		{"ok", nil, 0, "COMPLETE", []string{"QUEUED", "RUNNING", "COMPLETE"}},
		{"failed", nil, 1, "EXECUTOR_ERROR", []string{"run failed ended EXECUTOR_ERROR"}},
		{"syserr", nil, 1, "SYSTEM_ERROR", []string{"ended SYSTEM_ERROR"}},
		{"canceled", []string{"-o", "json"}, 1, `"state": "CANCELED"`, []string{"ended CANCELED"}},
		{"slow", []string{"--timeout", "300ms"}, 2, "", []string{"RUNNING  tasks: 3", "still RUNNING after 300ms"}},
		{"missing", nil, 1, "", []string{"404 Not Found"}},
	}
	for _, tt := range tests {
		args := append([]string{"run", "wait", tt.id, "--interval", "10ms"}, tt.extra...)
		out, errOut, code := cli(t, env, args...)
		if code != tt.code {
			t.Errorf("wait %s: exit %d, want %d (stderr %q)", tt.id, code, tt.code, errOut)
		}
		if !strings.Contains(out, tt.stdout) {
			t.Errorf("wait %s: stdout %q lacks %q", tt.id, out, tt.stdout)
		}
		for _, w := range tt.stderrHas {
			if !strings.Contains(errOut, w) {
				t.Errorf("wait %s: stderr %q lacks %q", tt.id, errOut, w)
			}
		}
	}
	// Each state appears once in the progress, however often it was polled.
	_, errOut, _ := cli(t, env, "run", "wait", "ok", "--interval", "10ms")
	if n := strings.Count(errOut, "RUNNING"); n > 1 {
		t.Errorf("RUNNING reported %d times: %q", n, errOut)
	}
}

func TestRunWaitRetriesServerErrors(t *testing.T) {
	t.Parallel()
	f := newFakeWES(t, wesclient.BasePath)
	f.addRun("r1", []api.State{api.StateRUNNING, api.StateCOMPLETE})
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if calls.Add(1) <= 3 { // the first polls meet a restarting server
			writeJSONResponse(w, http.StatusServiceUnavailable, api.ErrorResponse{Msg: "store unavailable", StatusCode: 503})
			return
		}
		f.srv.Config.Handler.ServeHTTP(w, req)
	}))
	t.Cleanup(flaky.Close)
	out, errOut, code := cli(t, nil, "run", "wait", "r1", "--interval", "10ms", "--url", flaky.URL)
	if code != 0 || !strings.Contains(out, "COMPLETE") {
		t.Fatalf("wait through 503s: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if n := strings.Count(errOut, "store unavailable (retrying)"); n != 1 {
		t.Errorf("the repeated error was shown %d times, want once: %q", n, errOut)
	}
}

func TestRunLogs(t *testing.T) {
	t.Parallel()
	f := newFakeWES(t, wesclient.BasePath)
	q, r, c := api.StateQUEUED, api.StateRUNNING, api.StateCOMPLETE
	f.addRun("r1", []api.State{q, r, r, c}, "", "line 1\n", "line 2\n", "line 3\n")
	env := []string{"ENCLAVE_URL=" + f.url()}

	out, errOut, code := cli(t, env, "run", "logs", "r1", "--follow", "--interval", "10ms")
	if code != 0 || out != "line 1\nline 2\nline 3\n" {
		t.Errorf("logs --follow: exit %d, out %q, stderr %q", code, out, errOut)
	}
	out, _, code = cli(t, env, "run", "logs", "r1")
	if code != 0 || out != "line 1\nline 2\nline 3\n" {
		t.Errorf("logs: exit %d, out %q", code, out)
	}
	out, _, code = cli(t, env, "run", "logs", "r1", "--stderr")
	if code != 0 || out != "stderr of r1\n" {
		t.Errorf("logs --stderr: exit %d, out %q", code, out)
	}
	if _, errOut, code := cli(t, env, "run", "logs", "nope"); code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("logs of a missing run: exit %d, %q", code, errOut)
	}
}

// A WES server that links logs elsewhere: the link is read once, and the token stays home.
func TestRunLogsForeignLink(t *testing.T) {
	t.Parallel()
	var foreignAuth atomic.Value
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		foreignAuth.Store(req.Header.Get("Authorization"))
		_, _ = w.Write([]byte("stored log text\n"))
	}))
	t.Cleanup(foreign.Close)
	f := newFakeWES(t, wesclient.BasePath)
	f.addRun("r1", []api.State{api.StateCOMPLETE}).log.RunLog.Stdout = foreign.URL + "/logs/r1.txt"

	out, errOut, code := cli(t, []string{"ENCLAVE_URL=" + f.url(), "ENCLAVE_TOKEN=" + secretToken}, "run", "logs", "r1", "--follow")
	if code != 0 || out != "stored log text\n" || !strings.Contains(errOut, "cannot be followed") {
		t.Errorf("logs via a foreign link: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if a, _ := foreignAuth.Load().(string); a != "" {
		t.Errorf("the token was sent to another origin: %q", a)
	}
}
