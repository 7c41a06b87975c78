package runner_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// startRuns stores and starts one run per argv and forgets the steps that caused.
func startRuns(t *testing.T, e *env, argvs ...[]string) []string {
	t.Helper()
	ids := make([]string, len(argvs))
	for i, argv := range argvs {
		ids[i] = e.newRun(t, argv)
		if err := e.r.Start(t.Context(), ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	e.disp.take()
	return ids
}

func sortedSteps(s ...step) []step {
	slices.SortFunc(s, func(a, b step) int {
		if a.typ+a.id < b.typ+b.id {
			return -1
		}
		return 1
	})
	return s
}

func TestReconcileFinalizesEndedJobsInOneBatch(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ids := startRuns(t, e,
		[]string{"fake", "sleep=1m"},
		[]string{"fake", "sleep=1h"},
		[]string{"fake", "sleep=1m", "exit=3"})
	_, statuses0, _, _ := e.ex.counts()

	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s := e.disp.take(); len(s) != 0 {
		t.Fatalf("steps %v while every job runs", s)
	}
	e.clock.advance(2 * time.Minute)
	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	want := sortedSteps(step{"finalize", ids[0]}, step{"finalize", ids[2]})
	if s := e.disp.take(); !slices.Equal(s, want) {
		t.Fatalf("steps = %v, want %v", s, want)
	}
	_, statuses, batches, _ := e.ex.counts()
	if !slices.Equal(batches, []int{3, 3}) || statuses != statuses0 {
		t.Errorf("batch sizes %v and %d single status calls, want one batch of 3 per pass and none", batches, statuses-statuses0)
	}

	for _, id := range []string{ids[0], ids[2]} {
		if err := e.r.Finalize(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if a, c := e.get(t, ids[0]).State, e.get(t, ids[2]).State; a != wes.StateComplete || c != wes.StateExecutorError {
		t.Fatalf("states %s %s, want COMPLETE EXECUTOR_ERROR", a, c)
	}
	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s := e.disp.take(); len(s) != 0 {
		t.Errorf("steps %v after the ended runs were finalized", s)
	}
}

func TestReconcileRequeuesStuckRuns(t *testing.T) {
	e := newEnv(t) // StuckAfter 30s
	ctx := t.Context()
	running := startRuns(t, e, []string{"fake", "sleep=1h"})[0]
	queued := e.newRun(t, []string{"fake"}) // its start step was never enqueued
	initializing := e.newRun(t, []string{"fake"})
	e.update(t, initializing, func(r *wes.Run) { r.State = wes.StateInitializing; r.Attempts = 1 })
	canceling := e.newRun(t, []string{"fake"})
	e.requestCancel(t, canceling) // its cancel step was lost
	cancelRunning := startRuns(t, e, []string{"fake", "sleep=1h"})[0]
	e.requestCancel(t, cancelRunning)

	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s := e.disp.take(); len(s) != 0 {
		t.Fatalf("steps %v before any run is stuck", s)
	}
	e.clock.advance(31 * time.Second)
	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	want := sortedSteps(step{"start", queued}, step{"start", initializing},
		step{"cancel", canceling}, step{"cancel", cancelRunning})
	if s := e.disp.take(); !slices.Equal(s, want) {
		t.Errorf("steps = %v, want %v (and nothing for %s)", s, want, running)
	}
}

func TestReconcileStatusErrorsLeaveRunsUnchanged(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ids := startRuns(t, e,
		[]string{"fake", "sleep=1m", "status-error=unavailable"},
		[]string{"fake", "sleep=1m"})
	before := []*wes.Run{e.get(t, ids[0]), e.get(t, ids[1])}
	e.clock.advance(2 * time.Minute)
	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s := e.disp.take(); len(s) != 0 {
		t.Errorf("steps %v although the batch status failed", s)
	}
	for i, id := range ids {
		if got := e.get(t, id); got.Version != before[i].Version {
			t.Errorf("run %d changed to %s", i, got.State)
		}
	}
}

// Without a batch call, one job whose status cannot be read must not hold up the others.
func TestReconcileOneByOne(t *testing.T) {
	e := newEnv(t, withoutBatch())
	ctx := t.Context()
	ids := startRuns(t, e,
		[]string{"fake", "sleep=1m", "status-error=invalid"},
		[]string{"fake", "sleep=1m"},
		[]string{"fake", "sleep=1h"})
	e.clock.advance(2 * time.Minute)
	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s := e.disp.take(); !slices.Equal(s, []step{{"finalize", ids[1]}}) {
		t.Errorf("steps = %v, want only the finalize of the ended job", s)
	}
	if _, statuses, batches, _ := e.ex.counts(); len(batches) != 0 || statuses != 3 {
		t.Errorf("%d status calls and batches %v, want 3 single calls", statuses, batches)
	}
}

func TestReconcileUnknownExecutorFailsTheRun(t *testing.T) {
	e := newEnv(t)
	id := e.newRun(t, []string{"fake"})
	e.update(t, id, func(r *wes.Run) {
		r.State = wes.StateRunning
		r.Handle = &wes.Handle{Executor: "gone", Version: 1, Data: json.RawMessage(`{}`)}
	})
	if err := e.r.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	run := e.get(t, id)
	if run.State != wes.StateSystemError || !hasLog(run, "no longer configured") {
		t.Errorf("state %s logs %q, want SYSTEM_ERROR saying the executor is gone", run.State, run.Log.SystemLogs)
	}
}
