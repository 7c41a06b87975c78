package storetest

import (
	"reflect"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// testLive checks Live against Active, Pending and Get: it lists the same runs, oldest
// first, each as Get returns it, terminal runs only when their outbox is not empty.
func testLive(t *testing.T, s wes.RunStore) {
	live, err := s.Live(ctx(t))
	if err != nil || len(live.Active) != 0 || len(live.Pending) != 0 {
		t.Fatalf("Live of an empty store = %+v, %v", live, err)
	}
	ids := newIDs(t, 6)
	states := []wes.State{wes.StateQueued, wes.StateRunning, wes.StateComplete, wes.StateCanceling, wes.StateSystemError, wes.StateRunning}
	for i, st := range states {
		r := newRun(ids[i], "alice", st)
		if i == 1 || i == 2 { // a live and an ended run with something in their outbox
			r.Effects = []wes.Effect{effect("1-audit")}
		}
		mustCreate(t, s, r)
	}
	// One more update, so the records read are not simply the ones created.
	if _, err := s.Update(ctx(t), ids[5], func(r *wes.Run) error { r.AddSystemLog("polled"); return nil }); err != nil {
		t.Fatal(err)
	}
	live, err = s.Live(ctx(t))
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	check := func(what string, got []*wes.Run, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("Live %s has %d runs, want %v", what, len(got), want)
			return
		}
		for i, r := range got {
			if r.ID != want[i] {
				t.Errorf("Live %s[%d] = %s, want %s (oldest first)", what, i, r.ID, want[i])
			} else if stored := mustGet(t, s, r.ID); !reflect.DeepEqual(r, stored) {
				t.Errorf("Live %s[%d] = %+v, want the run as Get returns it %+v", what, i, r, stored)
			}
		}
	}
	check("Active", live.Active, ids[0], ids[1], ids[3], ids[5])
	check("Pending", live.Pending, ids[1], ids[2])
}
