package storetest

import (
	"slices"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// testListFilters: every filter, alone and combined, pages through exactly the runs that
// match it, newest first, and follows the runs' changes: a run whose outputs are decided
// leaves the review queue, one that changes state leaves its old state's list.
func testListFilters(t *testing.T, s wes.RunStore) {
	ids := newIDs(t, 36)
	for i, id := range ids {
		r := newRun(id, []string{"alice", "bob"}[i%2], wes.StateQueued)
		r.Workflow = []string{"wf-a", "wf-b", "wf-c"}[i%3]
		r.Request.Tags = map[string]string{"project": []string{"p1", "p2", "p3", "p4"}[i%4]}
		mustCreate(t, s, r)
	}
	for i, id := range ids {
		if i%5 == 0 {
			continue // stays QUEUED
		}
		for _, st := range []wes.State{wes.StateInitializing, wes.StateRunning} {
			if _, err := s.Update(ctx(t), id, func(r *wes.Run) error { r.State = st; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.Update(ctx(t), id, func(r *wes.Run) error {
			r.State = wes.StateComplete
			if i%4 == 1 {
				r.Released = []wes.Output{{Path: "a.csv", Status: wes.OutputPending}, {Path: "b.csv", Status: wes.OutputReleased}}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, f wes.RunFilter) {
		t.Helper()
		var want []string
		for _, id := range ids {
			if f.Matches(mustGet(t, s, id)) {
				want = append(want, id)
			}
		}
		f.PageSize = 4
		got, _ := listAll(t, s, f)
		if !slices.Equal(got, newestFirst(want)) {
			t.Errorf("%s: listed %v, want %v", name, got, newestFirst(want))
		}
	}
	p2 := func(r *wes.Run) bool { return r.Request.Tags["project"] == "p2" }
	filters := map[string]wes.RunFilter{
		"review":               {ReviewPending: true},
		"review of alice":      {ReviewPending: true, Owner: "alice"},
		"review of bob":        {ReviewPending: true, Owner: "bob"},
		"queued":               {State: wes.StateQueued},
		"complete of wf-b":     {State: wes.StateComplete, Workflow: "wf-b"},
		"wf-c":                 {Workflow: "wf-c"},
		"tag p2":               {Match: p2},
		"bob's wf-a tag p2":    {Owner: "bob", Workflow: "wf-a", Match: p2},
		"running (none)":       {State: wes.StateRunning},
		"unknown workflow":     {Workflow: "wf-z"},
		"review, wf-b, queued": {ReviewPending: true, Workflow: "wf-b", State: wes.StateQueued},
	}
	for name, f := range filters {
		check(name, f)
	}
	// Decide a held run's outputs and start a queued one: the lists follow.
	var held, queued string
	for i, id := range ids {
		if i%4 == 1 && i%5 != 0 && held == "" {
			held = id
		}
		if i%5 == 0 && queued == "" {
			queued = id
		}
	}
	if _, err := s.Update(ctx(t), held, func(r *wes.Run) error {
		r.Released[0].Status = wes.OutputRejected
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx(t), queued, func(r *wes.Run) error { r.State = wes.StateInitializing; return nil }); err != nil {
		t.Fatal(err)
	}
	for name, f := range filters {
		check(name+" after changes", f)
	}
	check("initializing", wes.RunFilter{State: wes.StateInitializing})
	if p, err := s.List(ctx(t), wes.RunFilter{PageSize: 50, ReviewPending: true}); err != nil || slices.ContainsFunc(p.Runs, func(r *wes.Run) bool { return r.ID == held }) {
		t.Errorf("the decided run is still in the review queue: %v", err)
	}
}
