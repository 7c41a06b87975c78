package runner_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

func TestStartRunsTheJobOnce(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	argv := []string{"fake", "sleep=1h", "append=runs.txt"}
	id := e.newRun(t, argv)

	if err := e.r.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	run := e.get(t, id)
	if run.State != wes.StateRunning {
		t.Fatalf("state = %s, want RUNNING", run.State)
	}
	if run.Handle == nil || run.Handle.Executor != fake.Name {
		t.Fatalf("handle = %+v, want one of the fake executor", run.Handle)
	}
	if run.Log.Name != engineName || !slices.Equal(run.Log.Cmd, argv) {
		t.Errorf("log name %q cmd %q, want %q %q", run.Log.Name, run.Log.Cmd, engineName, argv)
	}
	if run.StartTime.IsZero() || !run.Log.StartTime.Equal(run.StartTime) {
		t.Errorf("start time %v, log start time %v: want both set and equal", run.StartTime, run.Log.StartTime)
	}
	if run.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", run.Attempts)
	}
	if got := e.jobState(t, run.Handle); got != wes.JobRunning {
		t.Errorf("job state = %s, want running", got)
	}

	// A second delivery of the start step changes nothing and submits nothing.
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if again := e.get(t, id); again.Version != run.Version {
		t.Errorf("second Start changed the run (version %d → %d)", run.Version, again.Version)
	}
	if submits, _, _, _ := e.ex.counts(); submits != 1 {
		t.Errorf("Submit called %d times, want 1", submits)
	}
	if n := e.jobs(t, id); n != 1 {
		t.Errorf("the executor created %d jobs, want 1", n)
	}
}

// A worker that died after Submit but before storing the Handle: the redelivered start
// step must find the job it had started, not start another.
func TestStartRedeliveredAfterSubmitFindsTheSameJob(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	argv := []string{"fake", "sleep=1h", "append=runs.txt"}
	id := e.newRun(t, argv)

	// What the dead worker got done: its first store update, then Submit.
	e.update(t, id, func(r *wes.Run) { r.State = wes.StateInitializing; r.Attempts = 1 })
	l := wes.LayoutFor(e.dataDir, id)
	if err := os.MkdirAll(l.WorkDir(), 0o750); err != nil {
		t.Fatal(err)
	}
	h, err := e.ex.Executor.Submit(ctx, &wes.Job{ID: id, Argv: argv, WorkDir: l.WorkDir(), Stdout: l.StdoutPath(), Stderr: l.StderrPath()})
	if err != nil {
		t.Fatal(err)
	}

	if err := e.r.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	run := e.get(t, id)
	if run.State != wes.StateRunning || run.Handle == nil {
		t.Fatalf("state %s handle %v, want RUNNING with a handle", run.State, run.Handle)
	}
	if run.Handle.Executor != h.Executor || string(run.Handle.Data) != string(h.Data) {
		t.Errorf("stored handle %s %s, want the first job's %s %s", run.Handle.Executor, run.Handle.Data, h.Executor, h.Data)
	}
	if n := e.jobs(t, id); n != 1 {
		t.Errorf("the executor created %d jobs, want 1", n)
	}
	if run.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", run.Attempts)
	}
}

func TestStartRetriesWhileTheExecutorIsUnavailable(t *testing.T) {
	e := newEnv(t, withConfig(func(c *runner.Config) { c.MaxStartAttempts = 3 }))
	ctx := t.Context()
	id := e.newRun(t, []string{"fake", "submit-error=unavailable"})

	for i := 1; i <= 3; i++ {
		err := e.r.Start(ctx, id)
		if !wes.IsCode(err, wes.EUNAVAILABLE) {
			t.Fatalf("attempt %d: Start = %v, want an EUNAVAILABLE error so the queue retries", i, err)
		}
		run := e.get(t, id)
		if run.State != wes.StateInitializing || run.Handle != nil || run.Attempts != i {
			t.Fatalf("attempt %d: state %s handle %v attempts %d, want INITIALIZING, none, %d",
				i, run.State, run.Handle, run.Attempts, i)
		}
	}
	if err := e.r.Start(ctx, id); err != nil {
		t.Fatalf("attempt 4: Start = %v, want nil (the run has failed for good)", err)
	}
	run := e.get(t, id)
	if run.State != wes.StateSystemError || run.EndTime.IsZero() {
		t.Fatalf("state %s end %v, want SYSTEM_ERROR with an end time", run.State, run.EndTime)
	}
	if !hasLog(run, "could not be started after 3 attempts") {
		t.Errorf("system logs %q lack the reason", run.Log.SystemLogs)
	}
	if err := e.r.Start(ctx, id); err != nil || e.get(t, id).Version != run.Version {
		t.Errorf("Start on a failed run: err %v, or it changed the run", err)
	}
}

func TestStartFailsForGood(t *testing.T) {
	refuse := func(r *wes.Run) {
		r.Request.WorkflowParams = json.RawMessage(`{"argv":["fake"],"refuse":"input"}`)
	}
	cases := []struct {
		name  string
		argv  []string
		mod   func(*wes.Run)
		state wes.State
		log   string
	}{
		{"engine refuses the params", []string{"fake"}, refuse, wes.StateExecutorError,
			"the workflow could not be prepared: workflow_params.input is not acceptable"},
		{"unknown engine", []string{"fake"}, func(r *wes.Run) { r.Engine = "nope" }, wes.StateSystemError,
			`workflow engine "nope" is not available`},
		{"unknown executor", []string{"fake"}, func(r *wes.Run) { r.Executor = "nope" }, wes.StateSystemError,
			`executor "nope" is not available`},
		{"executor refuses the job", []string{"fake", "bogus"}, nil, wes.StateSystemError,
			"the executor refused the job"},
		{"submit invalid", []string{"fake", "submit-error=invalid"}, nil, wes.StateSystemError,
			"the executor refused the job"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var mods []func(*wes.Run)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			id := e.newRun(t, tc.argv, mods...)
			if err := e.r.Start(t.Context(), id); err != nil {
				t.Fatalf("Start = %v, want nil: retrying cannot help", err)
			}
			run := e.get(t, id)
			if run.State != tc.state || run.Handle != nil || run.EndTime.IsZero() {
				t.Fatalf("state %s handle %v end %v, want %s, no handle, an end time", run.State, run.Handle, run.EndTime, tc.state)
			}
			if !hasLog(run, tc.log) {
				t.Errorf("system logs %q, want one containing %q", run.Log.SystemLogs, tc.log)
			}
			for _, l := range run.Log.SystemLogs {
				if strings.Contains(l, e.dataDir) {
					t.Errorf("system log %q shows a path inside the zone", l)
				}
			}
		})
	}
}
