package runner_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/wes"
)

// liveRuns stores n RUNNING runs whose fake jobs run for an hour, as the start step leaves
// them (a handle, a work directory), without going through the start step: a thousand
// starts would cost the test seconds for nothing it measures.
func liveRuns(t *testing.T, e *env, n int) []string {
	t.Helper()
	ctx := t.Context()
	ids := make([]string, n)
	for i := range ids {
		id := testutil.UniqueName("run-")
		layout := wes.LayoutFor(e.dataDir, id)
		dir := layout.WorkDir()
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		h, err := e.ex.Executor.Submit(ctx, &wes.Job{ID: id, Argv: []string{"fake", "sleep=1h"}, WorkDir: dir,
			Stdout: layout.StdoutPath(), Stderr: layout.StderrPath()})
		if err != nil {
			t.Fatal(err)
		}
		run := &wes.Run{ID: id, Owner: "alice", State: wes.StateRunning, Engine: engineName, Executor: fake.Name,
			WorkDir: dir, Handle: &h, StartTime: e.clock.Now(),
			Request: wes.RunRequest{WorkflowType: "TEST", WorkflowTypeVersion: "1", WorkflowURL: "main.wf"}}
		if err := e.store.Create(ctx, run); err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// TestReconcileRoundTripsConstant counts the run store's round trips and commands in one
// reconcile pass over 10, 100 and 1,000 live runs, without and with admission control:
// the round trips must not grow with the number of runs (the pass reads them all in one
// batch, Store.Live), and nothing may be enqueued while every job runs. The numbers are
// logged (-v).
func TestReconcileRoundTripsConstant(t *testing.T) {
	for _, limited := range []bool{false, true} {
		t.Run(map[bool]string{false: "unlimited", true: "max_running"}[limited], func(t *testing.T) {
			e := newEnv(t)
			rt := counted(t, e)
			if limited { // one more read and one script per limited executor (admission.go)
				e.cfg.Admission, e.cfg.MaxRunning = e.store.Admission(), map[string]int{fake.Name: 5}
				e.r = e.newRunner(t, nil)
			}
			ctx := t.Context()
			var trips []int
			total := 0
			for _, n := range []int{10, 100, 1000} {
				liveRuns(t, e, n-total)
				total = n
				if err := e.r.Reconcile(ctx); err != nil { // the first pass loads the scripts
					t.Fatal(err)
				}
				rt.take()
				if err := e.r.Reconcile(ctx); err != nil {
					t.Fatal(err)
				}
				got := rt.take()
				cmds := 0
				for _, trip := range got {
					cmds += len(strings.Fields(trip))
				}
				t.Logf("%5d live runs: %d round trips, %d commands %q", n, len(got), cmds, abbreviate(got))
				trips = append(trips, len(got))
				if s := e.disp.take(); len(s) != 0 {
					t.Fatalf("steps %v while every job runs", s)
				}
			}
			if trips[2] != trips[0] {
				t.Errorf("round trips per pass %v at 10, 100, 1,000 live runs; want the same number at every size", trips)
			}
			if _, _, batches, _ := e.ex.counts(); len(batches) == 0 || batches[len(batches)-1] != 1000 {
				t.Errorf("status batches %v, want the last one of all 1,000 jobs", batches)
			}
		})
	}
}

// abbreviate shortens a list of round trips for the log: repeats of one command within a
// round trip, and repeats of one round trip, become "cmd ×n".
func abbreviate(trips []string) []string {
	collapse := func(f []string) []string {
		var out []string
		for j := 0; j < len(f); {
			k := j
			for k < len(f) && f[k] == f[j] {
				k++
			}
			if k-j > 1 {
				out = append(out, fmt.Sprintf("%s ×%d", f[j], k-j))
			} else {
				out = append(out, f[j])
			}
			j = k
		}
		return out
	}
	each := make([]string, len(trips))
	for i, trip := range trips {
		each[i] = strings.Join(collapse(strings.Fields(trip)), " ")
	}
	return collapse(each)
}
