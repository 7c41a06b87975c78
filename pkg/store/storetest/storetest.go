// Package storetest is the conformance suite every wes.RunStore implementation passes:
// an implementation's tests call Run with a constructor for empty stores.
package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Run runs the conformance suite. newStore must return a new, empty store each time it
// is called (a fresh key prefix, say); the suite calls it once per subtest and may run
// subtests in parallel.
func Run(t *testing.T, newStore func(t *testing.T) wes.RunStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s wes.RunStore)
	}{
		{"CreateGet", testCreateGet},
		{"GetNotFound", testGetNotFound},
		{"CreateDuplicate", testCreateDuplicate},
		{"GetReturnsCopy", testGetReturnsCopy},
		{"Head", testHead},
		{"UpdateStoresChanges", testUpdateStoresChanges},
		{"UpdateNotFound", testUpdateNotFound},
		{"UpdateCallbackError", testUpdateCallbackError},
		{"Transitions", testTransitions},
		{"TerminalSticky", testTerminalSticky},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentStateRace", testConcurrentStateRace},
		{"ListNewestFirst", testListNewestFirst},
		{"ListOwnerFilter", testListOwnerFilter},
		{"ListEdges", testListEdges},
		{"ListStableWhileInserting", testListStableWhileInserting},
		{"ListBadToken", testListBadToken},
		{"ListFilters", testListFilters},
		{"StateCounts", testStateCounts},
		{"Active", testActive},
		{"Live", testLive},
		{"Effects", testEffects},
		{"EffectsConcurrent", testEffectsConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// ctx returns a context that ends with the test.
func ctx(t *testing.T) context.Context { return t.Context() }

// newIDs returns n fresh run ids in ascending (creation) order.
func newIDs(t *testing.T, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		u, err := uuid.NewV7()
		if err != nil {
			t.Fatalf("uuid.NewV7: %v", err)
		}
		ids[i] = u.String()
	}
	// NewV7 is monotonic within a process; sorting makes the order explicit.
	slices.Sort(ids)
	return ids
}

func newRun(id, owner string, st wes.State) *wes.Run {
	return &wes.Run{
		ID:    id,
		Owner: owner,
		State: st,
		Request: wes.RunRequest{
			WorkflowType:        "SMK",
			WorkflowTypeVersion: "7",
			WorkflowURL:         "hello/Snakefile",
			Tags:                map[string]string{"project": "conformance"},
		},
		Engine:    "snakemake",
		EngineVer: "7.21",
		Executor:  "local",
	}
}

func mustCreate(t *testing.T, s wes.RunStore, r *wes.Run) {
	t.Helper()
	if err := s.Create(ctx(t), r); err != nil {
		t.Fatalf("Create(%s): %v", r.ID, err)
	}
}

func mustGet(t *testing.T, s wes.RunStore, id string) *wes.Run {
	t.Helper()
	r, err := s.Get(ctx(t), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

func setState(st wes.State) func(*wes.Run) error {
	return func(r *wes.Run) error { r.State = st; return nil }
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := wes.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// checkCounts compares StateCounts(owner) with want; states missing from want must be 0.
func checkCounts(t *testing.T, s wes.RunStore, owner string, want map[wes.State]int64) {
	t.Helper()
	got, err := s.StateCounts(ctx(t), owner)
	if err != nil {
		t.Fatalf("StateCounts(%q): %v", owner, err)
	}
	for _, st := range wes.AllStates {
		if got[st] != want[st] {
			t.Errorf("StateCounts(%q)[%s] = %d, want %d", owner, st, got[st], want[st])
		}
	}
	for st := range got {
		if !st.Valid() {
			t.Errorf("StateCounts(%q) has unknown state %q", owner, st)
		}
	}
}

// tally counts the stored states of the given runs, as StateCounts should.
func tally(t *testing.T, s wes.RunStore, ids []string) map[wes.State]int64 {
	t.Helper()
	m := map[wes.State]int64{}
	for _, id := range ids {
		m[mustGet(t, s, id).State]++
	}
	return m
}
