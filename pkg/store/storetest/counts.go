package storetest

import (
	"slices"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

func testStateCounts(t *testing.T, s wes.RunStore) {
	checkCounts(t, s, "", nil) // an empty store counts 0 everywhere
	ids := newIDs(t, 7)
	plan := []struct {
		owner string
		path  []wes.State // states after the initial QUEUED
	}{
		{"alice", nil},
		{"alice", []wes.State{wes.StateRunning}},
		{"alice", []wes.State{wes.StateRunning, wes.StateComplete}},
		{"bob", []wes.State{wes.StateRunning, wes.StateExecutorError}},
		{"bob", []wes.State{wes.StateCanceling, wes.StateCanceled}},
		{"bob", []wes.State{wes.StateInitializing}},
		{"carol", []wes.State{wes.StateSystemError}},
	}
	for i, p := range plan {
		mustCreate(t, s, newRun(ids[i], p.owner, wes.StateQueued))
		for _, st := range p.path {
			if _, err := s.Update(ctx(t), ids[i], setState(st)); err != nil {
				t.Fatalf("run %d → %s: %v", i, st, err)
			}
		}
	}
	checkCounts(t, s, "", map[wes.State]int64{
		wes.StateQueued: 1, wes.StateRunning: 1, wes.StateComplete: 1, wes.StateExecutorError: 1,
		wes.StateCanceled: 1, wes.StateInitializing: 1, wes.StateSystemError: 1,
	})
	checkCounts(t, s, "alice", map[wes.State]int64{wes.StateQueued: 1, wes.StateRunning: 1, wes.StateComplete: 1})
	checkCounts(t, s, "bob", map[wes.State]int64{wes.StateExecutorError: 1, wes.StateCanceled: 1, wes.StateInitializing: 1})
	checkCounts(t, s, "carol", map[wes.State]int64{wes.StateSystemError: 1})
	checkCounts(t, s, "nobody", nil)

	// A refused transition moves no count.
	if _, err := s.Update(ctx(t), ids[2], setState(wes.StateRunning)); err == nil {
		t.Fatalf("COMPLETE → RUNNING was accepted")
	}
	checkCounts(t, s, "alice", map[wes.State]int64{wes.StateQueued: 1, wes.StateRunning: 1, wes.StateComplete: 1})

	got, err := s.StateCounts(ctx(t), "")
	if err != nil {
		t.Fatalf("StateCounts: %v", err)
	}
	if len(got) != len(wes.AllStates) {
		t.Errorf("StateCounts has %d states, want every WES state (%d), zeros included", len(got), len(wes.AllStates))
	}
}

func testActive(t *testing.T, s wes.RunStore) {
	if got, err := s.Active(ctx(t)); err != nil || len(got) != 0 {
		t.Errorf("Active of an empty store = %v, %v", got, err)
	}
	ids := newIDs(t, len(wes.AllStates))
	for i, st := range wes.AllStates {
		mustCreate(t, s, newRun(ids[i], "alice", st))
	}
	checkActive(t, s, ids)
	// Moving runs to terminal states takes them out; moving between live states keeps them.
	for i, st := range wes.AllStates {
		var to wes.State
		switch st {
		case wes.StateQueued, wes.StateRunning:
			to = wes.StateCanceled
		case wes.StatePaused:
			to = wes.StateRunning
		default:
			continue
		}
		if _, err := s.Update(ctx(t), ids[i], setState(to)); err != nil {
			t.Fatalf("%s → %s: %v", st, to, err)
		}
	}
	checkActive(t, s, ids)
}

// checkActive compares Active with the non-terminal runs among ids, as stored.
func checkActive(t *testing.T, s wes.RunStore, ids []string) {
	t.Helper()
	var want []string
	for _, id := range ids {
		if !mustGet(t, s, id).State.Terminal() {
			want = append(want, id)
		}
	}
	got, err := s.Active(ctx(t))
	if err != nil {
		t.Fatalf("Active: %v", err)
	}
	got = slices.Clone(got)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Active = %v, want the non-terminal runs %v", got, want)
	}
}
