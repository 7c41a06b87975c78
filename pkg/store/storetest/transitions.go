package storetest

import (
	"sync"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// testTransitions tries every (from, to) pair of WES states, plus a state that does not
// exist: the store must accept exactly what wes.ValidateTransition accepts, store nothing
// otherwise, and keep the counts and the active set in step.
func testTransitions(t *testing.T, s wes.RunStore) {
	targets := append(append([]wes.State{}, wes.AllStates...), wes.State("BOGUS"))
	ids := newIDs(t, len(wes.AllStates)*len(targets))
	var all []string
	i := 0
	for _, from := range wes.AllStates {
		for _, to := range targets {
			id := ids[i]
			i++
			all = append(all, id)
			mustCreate(t, s, newRun(id, "alice", from))
			before := mustGet(t, s, id)
			_, err := s.Update(ctx(t), id, setState(to))
			want := wes.ValidateTransition(from, to)
			after := mustGet(t, s, id)
			switch {
			case want == nil && err != nil:
				t.Errorf("%s → %s: %v, want it allowed", from, to, err)
			case want == nil && after.State != to:
				t.Errorf("%s → %s: stored state %s", from, to, after.State)
			case want == nil && after.Version <= before.Version:
				t.Errorf("%s → %s: version %d not above %d", from, to, after.Version, before.Version)
			case want != nil:
				wantCode(t, string(from)+" → "+string(to), err, wes.ErrorCode(want))
				if after.State != from || after.Version != before.Version {
					t.Errorf("%s → %s refused but stored: state %s version %d (was %d)",
						from, to, after.State, after.Version, before.Version)
				}
			}
		}
	}
	want := tally(t, s, all)
	checkCounts(t, s, "", want)
	checkCounts(t, s, "alice", want)
	checkActive(t, s, all)
}

// testTerminalSticky checks that no terminal run can leave its state, even through a
// chain of updates, and that staying put is allowed.
func testTerminalSticky(t *testing.T, s wes.RunStore) {
	var terminal []wes.State
	for _, st := range wes.AllStates {
		if st.Terminal() {
			terminal = append(terminal, st)
		}
	}
	ids := newIDs(t, len(terminal))
	for i, st := range terminal {
		mustCreate(t, s, newRun(ids[i], "alice", wes.StateRunning))
		if st == wes.StateCanceled {
			if _, err := s.Update(ctx(t), ids[i], setState(wes.StateCanceling)); err != nil {
				t.Fatalf("RUNNING → CANCELING: %v", err)
			}
		}
		if _, err := s.Update(ctx(t), ids[i], setState(st)); err != nil {
			t.Fatalf("→ %s: %v", st, err)
		}
		for _, to := range []wes.State{wes.StateQueued, wes.StateRunning, wes.StateCanceling, wes.StateUnknown} {
			_, err := s.Update(ctx(t), ids[i], setState(to))
			wantCode(t, string(st)+" → "+string(to), err, wes.ECONFLICT)
		}
		if _, err := s.Update(ctx(t), ids[i], func(r *wes.Run) error { r.AddSystemLog("noted"); return nil }); err != nil {
			t.Errorf("a %s run refused a change that keeps its state: %v", st, err)
		}
		if got := mustGet(t, s, ids[i]); got.State != st {
			t.Errorf("terminal run left %s for %s", st, got.State)
		}
	}
	checkActive(t, s, ids)
}

// testConcurrentUpdates has many goroutines change one run at once: no update may be
// lost, and every stored change bumps the version once.
func testConcurrentUpdates(t *testing.T, s wes.RunStore) {
	const workers, each = 12, 8
	id := newIDs(t, 1)[0]
	mustCreate(t, s, newRun(id, "alice", wes.StateQueued))
	v0 := mustGet(t, s, id).Version
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				_, err := s.Update(ctx(t), id, func(r *wes.Run) error { r.Attempts++; return nil })
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Update: %v", err)
	}
	got := mustGet(t, s, id)
	if got.Attempts != workers*each {
		t.Errorf("Attempts = %d after %d concurrent increments: updates were lost", got.Attempts, workers*each)
	}
	if got.Version != v0+workers*each {
		t.Errorf("Version = %d, want %d", got.Version, v0+workers*each)
	}
}

// testConcurrentStateRace races a runner (QUEUED → RUNNING → COMPLETE) against a
// canceller (→ CANCELED) on many runs: each run must end in exactly one terminal state,
// every refusal must be ECONFLICT, and the counts must match the stored states exactly.
func testConcurrentStateRace(t *testing.T, s wes.RunStore) {
	const n = 24
	ids := newIDs(t, n)
	owners := []string{"alice", "bob"}
	for i, id := range ids {
		mustCreate(t, s, newRun(id, owners[i%2], wes.StateQueued))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	step := func(id string, st wes.State) {
		if _, err := s.Update(ctx(t), id, setState(st)); err != nil && !wes.IsCode(err, wes.ECONFLICT) {
			errs <- err
		}
	}
	for _, id := range ids {
		wg.Go(func() { step(id, wes.StateRunning); step(id, wes.StateComplete) })
		wg.Go(func() { step(id, wes.StateCanceled) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Update during the race: %v", err)
	}
	for _, id := range ids {
		if st := mustGet(t, s, id).State; st != wes.StateComplete && st != wes.StateCanceled {
			t.Errorf("run %s ended in %s, want COMPLETE or CANCELED", id, st)
		}
	}
	checkCounts(t, s, "", tally(t, s, ids))
	for i, o := range owners {
		var mine []string
		for j := i; j < n; j += 2 {
			mine = append(mine, ids[j])
		}
		checkCounts(t, s, o, tally(t, s, mine))
	}
	checkActive(t, s, ids)
}
