package runner_test

import (
	"slices"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

// withLimit gives the fake executor max slots, handed out through the env's store.
func withLimit(max int) envOption {
	return withConfig(func(c *runner.Config) { c.MaxRunning = map[string]int{fake.Name: max} })
}

// newLimitedEnv is an env whose runner has admission control on the real Redis.
func newLimitedEnv(t *testing.T, max int, opts ...envOption) *env {
	t.Helper()
	e := newEnv(t, append(opts, withLimit(max))...)
	e.cfg.Admission = e.store.Admission()
	e.r = e.newRunner(t, nil)
	return e
}

// runOwnedBy stores a run of owner that sleeps an hour, created at the given moment of a
// submission sequence so that the line's order is the submission order.
func (e *env) runOwnedBy(t *testing.T, owner string, seq int) string {
	t.Helper()
	return e.newRun(t, []string{"fake", "sleep=1h"}, func(r *wes.Run) {
		r.Owner = owner
		r.CreatedAt = time.Unix(1_800_000_000, 0).Add(time.Duration(seq) * time.Millisecond)
	})
}

// drainStarts runs the start steps the runner enqueued, as a worker would, and returns
// the runs they were for.
func (e *env) drainStarts(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, s := range e.disp.take() {
		if s.typ != "start" {
			t.Fatalf("unexpected %s step for %s", s.typ, s.id)
		}
		if err := e.r.Start(t.Context(), s.id); err != nil {
			t.Fatalf("start %s: %v", s.id, err)
		}
		ids = append(ids, s.id)
	}
	return ids
}

func (e *env) states(t *testing.T, ids ...string) []wes.State {
	t.Helper()
	out := make([]wes.State, len(ids))
	for i, id := range ids {
		out[i] = e.get(t, id).State
	}
	return out
}

// TestAdmissionOrderTwoOwners: with one slot, alice submits four runs and then bob two.
// Alice's first runs; the others stay QUEUED without a job, and as each running run ends
// the owners take turns, each in submission order.
func TestAdmissionOrderTwoOwners(t *testing.T) {
	e := newLimitedEnv(t, 1)
	ctx := t.Context()
	name := map[string]string{}
	var ids []string
	for i, n := range []string{"a1", "a2", "a3", "a4", "b1", "b2"} {
		owner := map[byte]string{'a': "alice", 'b': "bob"}[n[0]]
		id := e.runOwnedBy(t, owner, i)
		ids = append(ids, id)
		name[id] = n
	}
	for _, id := range ids { // the start steps the API enqueued, in submission order
		if err := e.r.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	want := []wes.State{wes.StateRunning, wes.StateQueued, wes.StateQueued, wes.StateQueued, wes.StateQueued, wes.StateQueued}
	if got := e.states(t, ids...); !slices.Equal(got, want) {
		t.Fatalf("states after every start step: %v, want %v", got, want)
	}
	if n := e.jobs(t, ids[1]) + e.jobs(t, ids[4]); n != 0 {
		t.Fatalf("runs waiting for a slot have %d jobs", n)
	}
	if steps := e.disp.take(); len(steps) != 0 {
		t.Fatalf("steps enqueued while no slot was free: %v", steps)
	}

	order := []string{name[ids[0]]}
	running := ids[0]
	for range len(ids) - 1 {
		e.requestCancel(t, running)
		if err := e.r.Cancel(ctx, running); err != nil {
			t.Fatal(err)
		}
		if st := e.get(t, running).State; st != wes.StateCanceled {
			t.Fatalf("cancelled run is %s", st)
		}
		started := e.drainStarts(t)
		if len(started) != 1 {
			t.Fatalf("a freed slot let in %d runs, want 1", len(started))
		}
		running = started[0]
		if st := e.get(t, running).State; st != wes.StateRunning {
			t.Fatalf("the run let in is %s", st)
		}
		order = append(order, name[running])
	}
	t.Logf("admission order with max_running 1: %v", order)
	if want := []string{"a1", "a2", "b1", "a3", "b2", "a4"}; !slices.Equal(order, want) {
		t.Fatalf("admission order %v, want %v", order, want)
	}
}

// TestAdmissionHealsAfterCrash: a worker killed right after storing a run's end never
// frees its slot; the reconciler sees the holder is no longer live, frees the slot and
// starts the next run. Meanwhile it never re-enqueues the start of a run that waits, but
// does re-enqueue one that was let in and whose start step was lost.
func TestAdmissionHealsAfterCrash(t *testing.T) {
	e := newLimitedEnv(t, 1)
	ctx := t.Context()
	first, second, third := e.runOwnedBy(t, "alice", 0), e.runOwnedBy(t, "alice", 1), e.runOwnedBy(t, "bob", 2)
	for _, id := range []string{first, second, third} {
		if err := e.r.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// Long after: the waiting runs look stuck by their age, but they wait.
	e.clock.advance(time.Minute)
	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if steps := e.disp.take(); len(steps) != 0 {
		t.Fatalf("the reconciler enqueued %v for runs waiting for a slot", steps)
	}

	// The first run is cancelled by a worker that dies right after storing CANCELED.
	e.requestCancel(t, first)
	crash, hit := crashAt("cancel:stored")
	survive(t, func() error { return e.newRunner(t, crash).Cancel(ctx, first) })
	if !hit() {
		t.Fatal("the cancel step never reached cancel:stored")
	}
	if st := e.get(t, first).State; st != wes.StateCanceled {
		t.Fatalf("first run is %s", st)
	}
	// The reconciler frees the slot at once (the run is not live), not after the
	// outbox's grace; the start step it enqueues is lost with its worker.
	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if steps := e.disp.take(); !slices.Equal(steps, []step{{"start", second}}) {
		t.Fatalf("after the crash the reconciler enqueued %v, want the start of the next run", steps)
	}
	e.clock.advance(time.Minute)
	if err := e.r.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if steps := e.disp.take(); !slices.Equal(steps, []step{{"start", second}}) {
		t.Fatalf("with the start step lost the reconciler enqueued %v, want it again (and not bob's waiting run)", steps)
	}
	if err := e.r.Start(ctx, second); err != nil { // the step enqueued above, run at last
		t.Fatal(err)
	}
	if got := e.states(t, second, third); !slices.Equal(got, []wes.State{wes.StateRunning, wes.StateQueued}) {
		t.Fatalf("alice's second and bob's run are %v, want RUNNING and QUEUED (one slot)", got)
	}
}

// TestAdmissionRoundTrips measures what admission control costs the run store: the start
// step reads the run and asks for a slot (one script), and the terminal state's release
// is one script more. Logged with go test -v -run TestAdmissionRoundTrips.
func TestAdmissionRoundTrips(t *testing.T) {
	measure := func(limited bool) (start, finalize []string) {
		e := newEnv(t, withAudit())
		if limited {
			e = newLimitedEnv(t, 4, withAudit())
		}
		rt := counted(t, e)
		if limited {
			e.cfg.Admission = e.store.Admission() // on the counted client
			e.r = e.newRunner(t, nil)
		}
		ctx := t.Context()
		id := e.newRun(t, []string{"fake", "sleep=1m"})
		// Load the scripts into Redis first, as any earlier run would have: a fresh
		// Redis answers the first EVALSHA with NOSCRIPT and costs one more trip, once.
		adm := e.store.Admission()
		if _, _, err := adm.Acquire(ctx, wes.Ticket{Executor: "warm-up", Owner: "x", RunID: "x"}, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := adm.Release(ctx, "warm-up", 1, "x"); err != nil {
			t.Fatal(err)
		}
		rt.take()
		if err := e.r.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		start = rt.take()
		e.clock.advance(2 * time.Minute)
		if err := e.r.Finalize(ctx, id); err != nil {
			t.Fatal(err)
		}
		finalize = rt.take()
		return start, finalize
	}
	start0, fin0 := measure(false)
	start1, fin1 := measure(true)
	t.Logf("start:    %d round trips without a limit, %d with %q", len(start0), len(start1), start1)
	t.Logf("finalize: %d round trips without a limit, %d with %q", len(fin0), len(fin1), fin1)
	if d := len(start1) - len(start0); d != 2 {
		t.Errorf("admission adds %d round trips to start, want 2 (a read and the acquire script)", d)
	}
	if d := len(fin1) - len(fin0); d != 1 {
		t.Errorf("admission adds %d round trips to finalize, want 1 (the release script)", d)
	}
}
