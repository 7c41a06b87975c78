package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

// crash is the panic a failpoint stops a step with, as if its worker were killed there.
type crash struct{ point string }

// crashAt returns a failpoint that crashes the first time it is reached at point, and a
// function reporting whether it was.
func crashAt(point string) (func(string), func() bool) {
	var mu sync.Mutex
	hit := false
	return func(p string) {
			mu.Lock()
			defer mu.Unlock()
			if p == point && !hit {
				hit = true
				panic(crash{p})
			}
		}, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return hit
		}
}

// survive runs a step, turning a crash into a return: the worker is gone, nothing more of
// the step happens.
func survive(t *testing.T, step func() error) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(crash); !ok {
				panic(v)
			}
		}
	}()
	if err := step(); err != nil {
		t.Logf("step before the crash: %v", err)
	}
}

// stateEvents returns the run.state events of run id that record state.
func stateEvents(t *testing.T, e *env, id string, state wes.State) []wes.AuditEvent {
	t.Helper()
	page, err := e.audit.Query(context.Background(), audit.Filter{RunID: id, Action: "run.state", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []wes.AuditEvent
	for _, en := range page.Entries {
		if en.Event.Detail["state"] == string(state) {
			out = append(out, en.Event)
		}
	}
	return out
}

// crashCase is one step of the lifecycle, the failpoints it passes, the state it ends
// in and whether it cleans up the job.
type crashCase struct {
	name    string
	points  []string
	setup   func(t *testing.T, e *env) string // a run ready for the step
	step    func(r *runner.Runner, ctx context.Context, id string) error
	state   wes.State // the state whose audit event the step owes
	cleanup bool
}

var crashCases = []crashCase{
	{
		name:   "start",
		points: []string{"start:initializing", "start:submitted", "start:stored", "effect:audit", "effects:acked"},
		setup: func(t *testing.T, e *env) string {
			return e.newRun(t, []string{"fake", "sleep=1h", "append=runs.txt"})
		},
		step:  (*runner.Runner).Start,
		state: wes.StateRunning,
	},
	{
		name:   "start refused",
		points: []string{"fail:stored", "effect:audit", "effects:acked"},
		setup: func(t *testing.T, e *env) string {
			return e.newRun(t, []string{"fake", "submit-error=invalid"})
		},
		step:  (*runner.Runner).Start,
		state: wes.StateSystemError,
	},
	{
		name:   "finalize",
		points: []string{"finalize:stored", "effect:cleanup", "effect:audit", "effects:acked"},
		setup: func(t *testing.T, e *env) string {
			id := e.newRun(t, []string{"fake", "sleep=1m"})
			if err := e.r.Start(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			e.clock.advance(2 * time.Minute)
			return id
		},
		step:    (*runner.Runner).Finalize,
		state:   wes.StateComplete,
		cleanup: true,
	},
	{
		name:   "cancel",
		points: []string{"cancel:stopped", "cancel:stored", "effect:cleanup", "effect:audit", "effects:acked"},
		setup: func(t *testing.T, e *env) string {
			id := e.newRun(t, []string{"fake", "sleep=1h"})
			if err := e.r.Start(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			e.requestCancel(t, id)
			return id
		},
		step:    (*runner.Runner).Cancel,
		state:   wes.StateCanceled,
		cleanup: true,
	},
	{
		name:   "cancel before start",
		points: []string{"cancel:stored", "effect:audit", "effects:acked"},
		setup: func(t *testing.T, e *env) string {
			id := e.newRun(t, []string{"fake"})
			e.requestCancel(t, id)
			return id
		},
		step:  (*runner.Runner).Cancel,
		state: wes.StateCanceled,
	},
}

// TestCrashBetweenStatements kills the worker (a failpoint stops the step dead) at every
// point between the statements of start, finalize and cancel where something was done
// that the next statement builds on, and checks that another worker completes what was
// left: the run reaches its state, the audit trail holds that state's event and the
// executor's job is cleaned up. Recovery is by the step run again (as the queue
// redelivers it) or by the reconciler alone. The event is recorded exactly once, except
// when the worker dies after recording it and before removing it from the outbox: then
// twice, with the same event_id.
func TestCrashBetweenStatements(t *testing.T) {
	for _, tc := range crashCases {
		for _, point := range tc.points {
			for _, by := range []string{"step", "reconciler"} {
				t.Run(tc.name+"/"+point+"/"+by, func(t *testing.T) {
					t.Parallel()
					testCrash(t, tc, point, by)
				})
			}
		}
	}
}

func testCrash(t *testing.T, tc crashCase, point, by string) {
	e := newEnv(t, withAudit())
	ctx := t.Context()
	id := tc.setup(t, e)
	e.disp.take()
	before := len(stateEvents(t, e, id, tc.state))
	failpoint, hit := crashAt(point)
	survive(t, func() error { return tc.step(e.newRunner(t, failpoint), ctx, id) })
	if !hit() {
		t.Fatalf("the %s step never reached failpoint %s", tc.name, point)
	}
	atCrash := len(stateEvents(t, e, id, tc.state)) - before

	other := e.newRunner(t, nil)
	if by == "reconciler" {
		// Within the grace the effects are left to the step that stored them.
		if err := other.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(stateEvents(t, e, id, tc.state)) - before; n != atCrash {
			t.Fatalf("%d %s events after a reconcile within the grace, want %d as at the crash", n, tc.state, atCrash)
		}
	}
	e.clock.advance(runner.EffectGrace + time.Second)
	if by == "step" {
		if err := tc.step(other, ctx, id); err != nil {
			t.Fatalf("the step run again: %v", err)
		}
	}
	// The reconciler finishes what is left (for "step", nothing should be): it re-enqueues
	// a stuck step, which the next worker runs.
	for range 5 {
		if err := other.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		for _, s := range e.disp.take() {
			var err error
			switch s.typ {
			case "start":
				err = other.Start(ctx, s.id)
			case "cancel":
				err = other.Cancel(ctx, s.id)
			case "finalize":
				err = other.Finalize(ctx, s.id)
			}
			if err != nil {
				t.Fatalf("%s step: %v", s.typ, err)
			}
		}
	}

	run := e.get(t, id)
	if run.State != tc.state {
		t.Fatalf("state %s, want %s (logs %q)", run.State, tc.state, run.Log.SystemLogs)
	}
	if len(run.Effects) != 0 {
		t.Errorf("outbox still holds %+v", run.Effects)
	}
	if pending, err := e.store.Pending(ctx); err != nil || len(pending) != 0 {
		t.Errorf("Pending = %v, %v; want none", pending, err)
	}
	evs := stateEvents(t, e, id, tc.state)[before:]
	want := 1
	if point == "effect:audit" {
		want = 2 // recorded, then the worker died before it could say so
	}
	if len(evs) != want {
		t.Fatalf("%d %s events, want %d: %+v", len(evs), tc.state, want, evs)
	}
	for _, ev := range evs {
		if ev.Detail["event_id"] != evs[0].Detail["event_id"] || ev.Detail["event_id"] == "" || ev.Actor != "system" {
			t.Errorf("event %+v: want actor system and one event_id for all", ev)
		}
	}
	if tc.state == wes.StateRunning && e.jobs(t, id) != 1 {
		t.Errorf("%d jobs started, want 1", e.jobs(t, id))
	}
	if tc.cleanup {
		if got := e.ex.cleanedState(id); !got.Ended() {
			t.Errorf("job cleaned up in state %q, want cleaned up after it ended", got)
		}
		if _, err := os.Stat(filepath.Join(e.fakeDir, id+".json")); !os.IsNotExist(err) {
			t.Errorf("the executor still holds the job's state (%v)", err)
		}
	}
}

// TestEffectsTwoReconcilers has two workers' reconcilers find the same undone effects at
// once: they claim them through the store, so the audit event is recorded once.
func TestEffectsTwoReconcilers(t *testing.T) {
	for i := range 5 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withAudit())
			ctx := t.Context()
			id := crashCases[2].setup(t, e) // finalize
			failpoint, _ := crashAt("finalize:stored")
			survive(t, func() error { return e.newRunner(t, failpoint).Finalize(ctx, id) })
			e.clock.advance(runner.EffectGrace + time.Second)
			a, b := e.newRunner(t, nil), e.newRunner(t, nil)
			var wg sync.WaitGroup
			for _, r := range []*runner.Runner{a, b} {
				wg.Go(func() {
					if err := r.Reconcile(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if evs := stateEvents(t, e, id, wes.StateComplete); len(evs) != 1 {
				t.Errorf("%d COMPLETE events, want 1", len(evs))
			}
			if run := e.get(t, id); len(run.Effects) != 0 {
				t.Errorf("outbox still holds %+v", run.Effects)
			}
		})
	}
}

// TestEffectRetried has the clean-up fail: the run is COMPLETE and audited at once, and
// the clean-up stays in the outbox until the reconciler's retry succeeds.
func TestEffectRetried(t *testing.T) {
	e := newEnv(t, withAudit())
	ctx := t.Context()
	id := crashCases[2].setup(t, e)
	e.ex.mu.Lock()
	e.ex.cleanupErr = wes.Errorf(wes.EUNAVAILABLE, "the backend is down (test)")
	e.ex.mu.Unlock()
	if err := e.r.Finalize(ctx, id); err != nil {
		t.Fatal(err)
	}
	run := e.get(t, id)
	if run.State != wes.StateComplete || len(stateEvents(t, e, id, wes.StateComplete)) != 1 {
		t.Fatalf("state %s, want COMPLETE and audited", run.State)
	}
	if len(run.Effects) != 1 || run.Effects[0].Kind != wes.EffectCleanup || run.Effects[0].Tries != 1 {
		t.Fatalf("outbox %+v, want the failed clean-up with one try", run.Effects)
	}
	if err := e.r.Reconcile(ctx); err != nil { // its retry is not due yet
		t.Fatal(err)
	}
	if got := e.ex.cleanedState(id); got != "" {
		t.Fatalf("cleaned up before its retry was due")
	}
	e.clock.advance(time.Minute)
	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.ex.cleanedState(id); !got.Ended() {
		t.Errorf("job cleaned up in state %q, want cleaned up by the retry", got)
	}
	if run := e.get(t, id); len(run.Effects) != 0 || len(stateEvents(t, e, id, wes.StateComplete)) != 1 {
		t.Errorf("outbox %+v after the retry; want empty and still one event", run.Effects)
	}
	if pending, _ := e.store.Pending(ctx); slices.Contains(pending, id) {
		t.Errorf("run still listed as pending")
	}
}
