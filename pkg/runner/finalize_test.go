package runner_test

import (
	"maps"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

func TestFinalize(t *testing.T) {
	none := -1
	cases := []struct {
		name    string
		argv    []string
		state   wes.State
		exit    int // -1: no exit code
		log     string
		outputs bool
	}{
		{"succeeded", []string{"fake", "sleep=1m"}, wes.StateComplete, 0, "", true},
		{"exit 3", []string{"fake", "sleep=1m", "exit=3"}, wes.StateExecutorError, 3,
			"the workflow engine exited with an error", false},
		{"lost", []string{"fake", "sleep=1m", "lost"}, wes.StateSystemError, none,
			"the job vanished from the executor: fake executor: the job was lost", false},
		{"outputs unreadable", []string{"fake", "sleep=1m", "append=no-outputs"}, wes.StateSystemError, 0,
			"the run's outputs could not be collected", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			id := e.newRun(t, tc.argv)
			if err := e.r.Start(ctx, id); err != nil {
				t.Fatal(err)
			}

			// The job is still running: finalize leaves the run alone.
			running := e.get(t, id)
			if err := e.r.Finalize(ctx, id); err != nil {
				t.Fatalf("Finalize of a running job: %v", err)
			}
			if got := e.get(t, id); got.Version != running.Version || got.State != wes.StateRunning {
				t.Fatalf("Finalize of a running job changed the run to %s (version %d → %d)", got.State, running.Version, got.Version)
			}

			e.clock.advance(2 * time.Minute)
			if err := e.r.Finalize(ctx, id); err != nil {
				t.Fatalf("Finalize: %v", err)
			}
			run := e.get(t, id)
			if run.State != tc.state {
				t.Fatalf("state = %s, want %s (logs %q)", run.State, tc.state, run.Log.SystemLogs)
			}
			switch {
			case tc.exit == none && run.Log.ExitCode != nil:
				t.Errorf("exit code = %d, want none", *run.Log.ExitCode)
			case tc.exit != none && (run.Log.ExitCode == nil || *run.Log.ExitCode != tc.exit):
				t.Errorf("exit code = %v, want %d", run.Log.ExitCode, tc.exit)
			}
			if tc.log != "" && !hasLog(run, tc.log) {
				t.Errorf("system logs %q, want one containing %q", run.Log.SystemLogs, tc.log)
			}
			want := map[string]any(nil)
			if tc.outputs {
				want = map[string]any{"result": "result.txt"}
			}
			if !maps.Equal(run.Outputs, want) {
				t.Errorf("outputs = %v, want %v", run.Outputs, want)
			}
			if run.EndTime.IsZero() || run.Log.EndTime.IsZero() || run.Log.EndTime.After(run.EndTime) {
				t.Errorf("end %v, log end %v: want both set, the job's end first", run.EndTime, run.Log.EndTime)
			}
			if got := e.ex.cleanedState(id); !got.Ended() {
				t.Errorf("job cleaned up in state %q, want cleaned up after it ended", got)
			}

			// Finalize again, start or cancel: a terminal run never changes.
			for name, step := range map[string]func() error{
				"Finalize": func() error { return e.r.Finalize(ctx, id) },
				"Start":    func() error { return e.r.Start(ctx, id) },
				"Cancel":   func() error { return e.r.Cancel(ctx, id) },
			} {
				if err := step(); err != nil {
					t.Errorf("%s on a %s run: %v", name, run.State, err)
				}
				if got := e.get(t, id); got.Version != run.Version {
					t.Errorf("%s changed a %s run to %s", name, run.State, got.State)
				}
			}
			if _, err := e.store.Update(ctx, id, func(r *wes.Run) error { r.State = wes.StateRunning; return nil }); !wes.IsCode(err, wes.ECONFLICT) {
				t.Errorf("store update of a terminal run back to RUNNING = %v, want ECONFLICT", err)
			}
		})
	}
}

// A job that ended on its own after the owner asked to cancel: CANCELED wins over
// COMPLETE, and a cancelled run releases no outputs, also when the cancel arrives while
// finalize is collecting them.
func TestFinalizeCancelRequestedWins(t *testing.T) {
	for _, during := range []bool{false, true} {
		name := "cancel before finalize"
		if during {
			name = "cancel while collecting outputs"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			id := e.newRun(t, []string{"fake", "sleep=1m"})
			if err := e.r.Start(ctx, id); err != nil {
				t.Fatal(err)
			}
			if during {
				e.engine.onOutputs = func() { e.requestCancel(t, id) }
			} else {
				e.requestCancel(t, id)
			}
			e.clock.advance(2 * time.Minute)
			if err := e.r.Finalize(ctx, id); err != nil {
				t.Fatal(err)
			}
			run := e.get(t, id)
			if run.State != wes.StateCanceled {
				t.Fatalf("state = %s, want CANCELED", run.State)
			}
			if len(run.Outputs) != 0 {
				t.Errorf("a cancelled run lists outputs %v", run.Outputs)
			}
		})
	}
}

// Outputs are read from the directory the job ran in, whatever the stored run says.
func TestFinalizeReadsTheJobsWorkDir(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id := e.newRun(t, []string{"fake", "sleep=1m"}, func(r *wes.Run) { r.WorkDir = "" })
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(2 * time.Minute)
	if err := e.r.Finalize(ctx, id); err != nil {
		t.Fatal(err)
	}
	if run := e.get(t, id); run.State != wes.StateComplete {
		t.Errorf("state %s logs %q, want COMPLETE", run.State, run.Log.SystemLogs)
	}
}

func TestFinalizeWithoutJobDoesNothing(t *testing.T) {
	e := newEnv(t)
	id := e.newRun(t, []string{"fake"})
	before := e.get(t, id)
	if err := e.r.Finalize(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, id); got.Version != before.Version {
		t.Errorf("Finalize of a QUEUED run changed it to %s", got.State)
	}
	if err := e.r.Finalize(t.Context(), "no-such-run"); !wes.IsCode(err, wes.ENOTFOUND) {
		t.Errorf("Finalize of a missing run = %v, want ENOTFOUND (the queue drops the step)", err)
	}
}

func TestFinalizeStatusErrorIsRetried(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id := e.newRun(t, []string{"fake", "sleep=1m", "status-error=unavailable"})
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	before := e.get(t, id)
	e.clock.advance(2 * time.Minute)
	if err := e.r.Finalize(ctx, id); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Fatalf("Finalize = %v, want EUNAVAILABLE so the queue retries", err)
	}
	if got := e.get(t, id); got.Version != before.Version {
		t.Errorf("a failed status changed the run to %s", got.State)
	}
}
