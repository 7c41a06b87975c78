package runner_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// wantCanceled checks that a run ended CANCELED without ever having been RUNNING (the
// start times are set only on the way to RUNNING) when neverRan is true.
func wantCanceled(t *testing.T, run *wes.Run, neverRan bool) {
	t.Helper()
	if run.State != wes.StateCanceled || run.EndTime.IsZero() || !run.CancelRequested {
		t.Fatalf("state %s end %v cancel requested %v, want CANCELED with an end time", run.State, run.EndTime, run.CancelRequested)
	}
	if !hasLog(run, "cancelled at the owner's request") {
		t.Errorf("system logs %q lack the cancel", run.Log.SystemLogs)
	}
	if neverRan && (!run.StartTime.IsZero() || !run.Log.StartTime.IsZero()) {
		t.Errorf("the run was RUNNING at %v before it was cancelled", run.StartTime)
	}
}

func TestCancelRunning(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id := e.newRun(t, []string{"fake", "sleep=1h"})
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.requestCancel(t, id)
	if err := e.r.Cancel(ctx, id); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	run := e.get(t, id)
	wantCanceled(t, run, false)
	if got := e.ex.cleanedState(id); got != wes.JobCanceled {
		t.Errorf("job cleaned up as %q, want canceled", got)
	}
	if err := e.r.Cancel(ctx, id); err != nil || e.get(t, id).Version != run.Version {
		t.Errorf("second Cancel: err %v, or it changed the run", err)
	}
}

// A job that ended by itself before the cancel step ran: CANCELED still wins, with the
// job's exit code.
func TestCancelEndedJob(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id := e.newRun(t, []string{"fake", "sleep=1m", "exit=2"})
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(2 * time.Minute)
	e.requestCancel(t, id)
	if err := e.r.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	run := e.get(t, id)
	wantCanceled(t, run, false)
	if run.Log.ExitCode == nil || *run.Log.ExitCode != 2 {
		t.Errorf("exit code = %v, want 2", run.Log.ExitCode)
	}
}

func TestCancelQueuedRunWithoutJob(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id := e.newRun(t, []string{"fake", "sleep=1h", "append=runs.txt"})
	if err := e.r.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantCanceled(t, e.get(t, id), true)
	// The start step, delivered after all, must not start anything.
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if submits, _, _, _ := e.ex.counts(); submits != 0 || e.jobs(t, id) != 0 {
		t.Errorf("a cancelled run was submitted %d times", submits)
	}
	if s := e.disp.take(); len(s) != 0 {
		t.Errorf("steps enqueued for a cancelled run: %v", s)
	}
}

// The API stored the cancel before the start step ran: the start step submits nothing
// and hands over to the cancel step.
func TestCancelRequestedBeforeStart(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id := e.newRun(t, []string{"fake", "sleep=1h", "append=runs.txt"})
	e.requestCancel(t, id)
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if s := e.disp.take(); !slices.Equal(s, []step{{"cancel", id}}) {
		t.Errorf("steps = %v, want the cancel", s)
	}
	if err := e.r.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantCanceled(t, e.get(t, id), true)
	if e.jobs(t, id) != 0 {
		t.Error("a job was started for a run cancelled before it started")
	}
}

// The cancel is stored while the start step is between its first update and Submit:
// the job is stopped and the run ends CANCELED, never RUNNING.
func TestCancelArrivesWhileStarting(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id := e.newRun(t, []string{"fake", "sleep=1h", "append=runs.txt"})
	e.ex.beforeSubmit = func() { e.requestCancel(t, id) }
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	run := e.get(t, id)
	wantCanceled(t, run, true)
	if got := e.ex.cleanedState(id); got != wes.JobCanceled {
		t.Errorf("job cleaned up as %q, want canceled", got)
	}
	if e.jobs(t, id) != 1 {
		t.Errorf("%d jobs, want 1", e.jobs(t, id))
	}
}

// The whole cancel step runs while the start step is between its first update and
// Submit. The cancel step cannot see the job yet, so it must not end the run: a job
// submitted afterwards would run on with nobody to stop it.
func TestCancelStepRunsWhileStarting(t *testing.T) {
	for _, cancelFails := range []bool{false, true} {
		name := "job cancel works"
		if cancelFails {
			name = "job cancel fails once"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			id := e.newRun(t, []string{"fake", "sleep=1h", "append=runs.txt"})
			var during *wes.Run
			e.ex.beforeSubmit = func() {
				e.requestCancel(t, id)
				if err := e.r.Cancel(context.Background(), id); err != nil {
					t.Errorf("Cancel during start: %v", err)
				}
				during = e.get(t, id)
			}
			if cancelFails {
				e.ex.cancelErr = wes.Errorf(wes.EUNAVAILABLE, "backend down")
			}
			err := e.r.Start(ctx, id)
			if during.State != wes.StateCanceling {
				t.Errorf("the cancel step made the run %s while its job was being submitted; want CANCELING", during.State)
			}
			if cancelFails {
				if !wes.IsCode(err, wes.EUNAVAILABLE) {
					t.Fatalf("Start = %v, want the cancel's error so the step is retried", err)
				}
				if run := e.get(t, id); run.State != wes.StateCanceling || run.Handle == nil {
					t.Fatalf("state %s handle %v, want CANCELING with the job's handle", run.State, run.Handle)
				}
				// The retry hands over to the cancel step, which now has the handle.
				if err := e.r.Start(ctx, id); err != nil {
					t.Fatal(err)
				}
				if s := e.disp.take(); !slices.Contains(s, step{"cancel", id}) {
					t.Fatalf("steps = %v, want a cancel", s)
				}
				if err := e.r.Cancel(ctx, id); err != nil {
					t.Fatal(err)
				}
			} else if err != nil {
				t.Fatalf("Start: %v", err)
			}
			wantCanceled(t, e.get(t, id), true)
			if got := e.ex.cleanedState(id); got != wes.JobCanceled {
				t.Errorf("job cleaned up as %q, want canceled (an orphaned job keeps running)", got)
			}
			if e.jobs(t, id) != 1 {
				t.Errorf("%d jobs, want 1", e.jobs(t, id))
			}
		})
	}
}

// The worker died after Submit but before storing the Handle, and the owner then
// cancelled: the job exists but no run knows it. The cancel must reach it.
func TestCancelAfterCrashBetweenSubmitAndStore(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id := e.newRun(t, []string{"fake", "sleep=1h", "append=runs.txt"})
	e.ex.afterSubmit = wes.Errorf(wes.EUNAVAILABLE, "the worker died here")
	if err := e.r.Start(ctx, id); err == nil {
		t.Fatal("Start succeeded; want the simulated crash")
	}
	if run := e.get(t, id); run.Handle != nil || e.jobs(t, id) != 1 {
		t.Fatalf("handle %v, %d jobs: want a job without a stored handle", run.Handle, e.jobs(t, id))
	}

	e.requestCancel(t, id)
	if err := e.r.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	if run := e.get(t, id); run.State != wes.StateCanceling {
		t.Fatalf("state = %s, want CANCELING until the job is found", run.State)
	}
	if s := e.disp.take(); !slices.Equal(s, []step{{"start", id}}) {
		t.Fatalf("steps = %v, want the start step that finds the job", s)
	}
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantCanceled(t, e.get(t, id), true)
	if got := e.ex.cleanedState(id); got != wes.JobCanceled {
		t.Errorf("job cleaned up as %q, want canceled", got)
	}
	if e.jobs(t, id) != 1 {
		t.Errorf("%d jobs, want the one job", e.jobs(t, id))
	}
}

func TestCancelFailureIsRetried(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id := e.newRun(t, []string{"fake", "sleep=1h", "cancel-error=unavailable"})
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.requestCancel(t, id)
	if err := e.r.Cancel(ctx, id); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Fatalf("Cancel = %v, want EUNAVAILABLE so the queue retries", err)
	}
	run := e.get(t, id)
	if run.State != wes.StateCanceling {
		t.Errorf("state = %s, want CANCELING", run.State)
	}
	if got := e.jobState(t, run.Handle); got != wes.JobRunning {
		t.Errorf("job state = %s, want still running", got)
	}
}
