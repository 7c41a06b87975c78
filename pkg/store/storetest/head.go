package storetest

import (
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// testHead checks that Head answers what Get does, for runs whose owners need escaping
// in JSON, after Create and after every Update, and ENOTFOUND for a missing run.
func testHead(t *testing.T, s wes.RunStore) {
	ids := newIDs(t, 3)
	owners := []string{"alice", `https://idp.example.org/"quoted" <a&b> \ é`, "tab\there\u2028"}
	check := func(id string) {
		t.Helper()
		r := mustGet(t, s, id)
		h, err := s.Head(ctx(t), id)
		if err != nil {
			t.Fatalf("Head(%s): %v", id, err)
		}
		if want := (wes.RunHead{ID: r.ID, Owner: r.Owner, State: r.State}); h != want {
			t.Errorf("Head(%s) = %+v, want %+v (what Get says)", id, h, want)
		}
	}
	for i, id := range ids {
		r := newRun(id, owners[i], wes.StateQueued)
		r.Workflow, r.Datasets = "wf-"+owners[i], []string{"ds1"}
		mustCreate(t, s, r)
		check(id)
	}
	for _, st := range []wes.State{wes.StateInitializing, wes.StateRunning, wes.StateCanceling, wes.StateCanceled} {
		if _, err := s.Update(ctx(t), ids[1], setState(st)); err != nil {
			t.Fatalf("Update to %s: %v", st, err)
		}
		check(ids[1])
	}
	// A change that keeps the state is seen too (the record is rewritten whole).
	if _, err := s.Update(ctx(t), ids[2], func(r *wes.Run) error { r.AddSystemLog("note"); return nil }); err != nil {
		t.Fatal(err)
	}
	check(ids[2])
	_, err := s.Head(ctx(t), newIDs(t, 1)[0])
	wantCode(t, "Head of a missing run", err, wes.ENOTFOUND)
}
