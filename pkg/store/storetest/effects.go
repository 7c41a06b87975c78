package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// effect is an audit effect with the given id, as the runner writes them.
func effect(id string) wes.Effect {
	return wes.Effect{ID: id, Kind: wes.EffectAudit, NotBefore: time.Unix(1700000000, 0).UTC(),
		Event: &wes.AuditEvent{Action: "run.state", Actor: "system", Outcome: "ok", Detail: map[string]string{"state": "COMPLETE"}}}
}

// testEffects checks the outbox: effects are stored with the state change that writes
// them and come back intact, and Pending lists exactly the runs whose outbox is not
// empty, terminal ones included (the reconciler finds them there, not in Active).
func testEffects(t *testing.T, s wes.RunStore) {
	ids := newIDs(t, 4)
	plain, done, created, cleared := ids[0], ids[1], ids[2], ids[3]
	for _, id := range []string{plain, done, cleared} {
		mustCreate(t, s, newRun(id, "alice", wes.StateRunning))
	}
	withEffects := newRun(created, "bob", wes.StateQueued)
	withEffects.Effects = []wes.Effect{effect("1-audit")}
	mustCreate(t, s, withEffects)
	checkPending(t, s, created)

	// A terminal state and its effects in one update: not active any more, but pending.
	for _, id := range []string{done, cleared} {
		if _, err := s.Update(ctx(t), id, func(r *wes.Run) error {
			r.State = wes.StateComplete
			r.Effects = append(r.Effects, effect("2-audit"), wes.Effect{ID: "2-cleanup", Kind: wes.EffectCleanup})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	checkPending(t, s, created, done, cleared)
	checkActive(t, s, ids)
	got := mustGet(t, s, done).Effects
	if len(got) != 2 || got[0].ID != "2-audit" || got[0].Event == nil || got[0].Event.Detail["state"] != "COMPLETE" ||
		!got[0].NotBefore.Equal(effect("").NotBefore) || got[1].Kind != wes.EffectCleanup {
		t.Errorf("stored effects = %+v, want the audit and cleanup effects as written", got)
	}

	// Another writer's update keeps the outbox; emptying it leaves the pending set.
	if _, err := s.Update(ctx(t), cleared, func(r *wes.Run) error { r.AddSystemLog("x"); return nil }); err != nil {
		t.Fatal(err)
	}
	checkPending(t, s, created, done, cleared)
	if _, err := s.Update(ctx(t), cleared, func(r *wes.Run) error {
		r.Effects = slices.DeleteFunc(r.Effects, func(e wes.Effect) bool { return e.Kind == wes.EffectAudit })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkPending(t, s, created, done, cleared)
	if _, err := s.Update(ctx(t), cleared, func(r *wes.Run) error { r.Effects = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	checkPending(t, s, created, done)
	if _, err := s.Update(ctx(t), created, func(r *wes.Run) error { r.Effects = r.Effects[:0]; return nil }); err != nil {
		t.Fatal(err)
	}
	checkPending(t, s, done)
}

// testEffectsConcurrent has writers add and remove effects of one run at once: every
// effect added is stored exactly once, and the pending set agrees with the run at the end.
func testEffectsConcurrent(t *testing.T, s wes.RunStore) {
	id := newIDs(t, 1)[0]
	mustCreate(t, s, newRun(id, "alice", wes.StateRunning))
	const writers = 8
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			name := string(rune('a' + w))
			if _, err := s.Update(ctx(t), id, func(r *wes.Run) error {
				r.Effects = append(r.Effects, effect(name))
				return nil
			}); err != nil {
				t.Errorf("add %s: %v", name, err)
			}
			if w%2 == 0 { // half of them are done at once by their writer
				if _, err := s.Update(ctx(t), id, func(r *wes.Run) error {
					r.Effects = slices.DeleteFunc(r.Effects, func(e wes.Effect) bool { return e.ID == name })
					return nil
				}); err != nil {
					t.Errorf("remove %s: %v", name, err)
				}
			}
		})
	}
	wg.Wait()
	var got []string
	for _, e := range mustGet(t, s, id).Effects {
		got = append(got, e.ID)
	}
	slices.Sort(got)
	if want := []string{"b", "d", "f", "h"}; !slices.Equal(got, want) {
		t.Fatalf("effects %v, want %v", got, want)
	}
	checkPending(t, s, id)
	if _, err := s.Update(ctx(t), id, func(r *wes.Run) error { r.Effects = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	checkPending(t, s)
}

// checkPending compares Pending with want.
func checkPending(t *testing.T, s wes.RunStore, want ...string) {
	t.Helper()
	got, err := s.Pending(ctx(t))
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	got = slices.Clone(got)
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Pending = %v, want %v", got, want)
	}
}
