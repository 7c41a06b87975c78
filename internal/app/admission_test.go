package app

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// With executor.local.max_running 1, the whole server (API, asynq worker, reconciler,
// local executor) starts one run at a time: the others stay QUEUED with no engine process
// until the running one ends, and then start in submission order. The engine is a script
// that notes which run it started for and then sleeps until cancelled.
func TestLocalMaxRunning(t *testing.T) {
	cfg := testConfig(t, redisAddr(t))
	t.Cleanup(func() { wipe(t, cfg) })
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	cfg.Engines.Snakemake.Binary = script(t, dir, "snakemake", `[ "$1" = --version ] && { echo 7.32.4; exit 0; }
basename "$(dirname "$PWD")" >> "`+started+`"
exec sleep 300`)
	cfg.Executor.Local.Confinement = "off" // the script and its note live in the test's dirs
	cfg.Executor.Local.MaxRunning = 1
	log := newLogTap()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server's log:\n%s", log)
		}
	})
	r := runApp(t, cfg, Roles{API: true, Worker: true}, log.logger())
	r.untilReady(t)

	var ids []string
	for range 3 {
		st, body, _ := r.submit(t, smkRun())
		var v struct {
			RunID string `json:"run_id"`
		}
		if err := json.Unmarshal([]byte(body), &v); st != http.StatusOK || err != nil {
			t.Fatalf("submit: %d %s", st, body)
		}
		ids = append(ids, v.RunID)
	}
	// The first slot goes to whichever start step asks first (they run concurrently);
	// the runs that wait then start in submission order.
	var order []string
	for i := range ids {
		id := r.waitOneRunning(t, ids)
		order = append(order, id)
		// The engine notes its run as it starts, just after the run is RUNNING.
		waitFile(t, started)
		for len(lines(t, started)) <= i && r.state(t, id) == "RUNNING" {
			time.Sleep(20 * time.Millisecond) // polling a condition; the deadline is waitOneRunning's
		}
		if got := lines(t, started); !slices.Equal(got, order) {
			t.Fatalf("engines started for %v, want %v (one at a time)", got, order)
		}
		if st, body, _ := do(t, http.MethodPost, "http://"+r.a.Addr()+"/ga4gh/wes/v1/runs/"+id+"/cancel", "", nil); st != http.StatusOK {
			t.Fatalf("cancel: %d %s", st, body)
		}
		r.waitState(t, id, "CANCELED")
	}
	var rest []string
	for _, id := range ids {
		if id != order[0] {
			rest = append(rest, id)
		}
	}
	if !slices.Equal(order[1:], rest) {
		t.Errorf("the runs that waited started in the order %v, want submission order %v", order[1:], rest)
	}
	if _, si, _ := r.get(t, "/ga4gh/wes/v1/service-info"); !strings.Contains(si, `"executor_admission":{"local":{"max_running":1`) {
		t.Errorf("service-info does not show the local limit: %s", si)
	}
}

// waitOneRunning waits until one of ids is RUNNING while the others that have not ended
// are QUEUED, and returns it; a second run holding a slot (INITIALIZING or RUNNING) fails
// the test.
func (r *running) waitOneRunning(t *testing.T, ids []string) string {
	t.Helper()
	deadline := time.Now().Add(startupDeadline)
	for {
		var holders []string
		states := map[string]string{}
		for _, id := range ids {
			st := r.state(t, id)
			states[id] = st
			switch st {
			case "CANCELED", "QUEUED":
			case "INITIALIZING", "RUNNING":
				holders = append(holders, id)
			default:
				t.Fatalf("run %s is %s with one slot: %v", id, st, states)
			}
		}
		switch {
		case len(holders) > 1:
			t.Fatalf("%d runs hold a slot with max_running 1: %v", len(holders), states)
		case len(holders) == 1 && states[holders[0]] == "RUNNING":
			return holders[0]
		case time.Now().After(deadline):
			t.Fatalf("no run is RUNNING after %s: %v", startupDeadline, states)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// state is a run's WES state.
func (r *running) state(t *testing.T, id string) string {
	t.Helper()
	st, body, _ := r.get(t, "/ga4gh/wes/v1/runs/"+id+"/status")
	var v struct {
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(body), &v); st != http.StatusOK || err != nil {
		t.Fatalf("status of %s: %d %s", id, st, body)
	}
	return v.State
}

// waitState polls a run's state until it is want.
func (r *running) waitState(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(startupDeadline)
	for {
		st := r.state(t, id)
		if st == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s after %s, want %s", id, st, startupDeadline, want)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// lines returns the lines of a file that may not exist yet.
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}
