package redisstore

import (
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Runs stored before the filter indexes existed (a database of an older version) join
// them on Reindex, once: until then the review queue misses them.
func TestReindexOlderDatabase(t *testing.T) {
	s, c, p := realStore(t)
	ctx := t.Context()
	held := &wes.Run{ID: newID(t), Owner: "alice", State: wes.StateComplete, Workflow: "wf",
		Released: []wes.Output{{Path: "a.csv", Status: wes.OutputPending}}}
	other := &wes.Run{ID: newID(t), Owner: "bob", State: wes.StateQueued, Workflow: "wf"}
	for _, r := range []*wes.Run{held, other} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// What an older version wrote: no filter indexes, no index version.
	if err := c.Del(ctx, p+"runs:review", p+"runs:state:COMPLETE", p+"runs:state:QUEUED", p+"runs:workflow:wf").Err(); err != nil {
		t.Fatal(err)
	}
	queue := func() []*wes.Run {
		page, err := s.List(ctx, wes.RunFilter{PageSize: 10, ReviewPending: true})
		if err != nil {
			t.Fatal(err)
		}
		return page.Runs
	}
	if got := queue(); len(got) != 0 {
		t.Fatalf("review queue before reindexing: %d runs", len(got))
	}
	if n, err := s.Reindex(ctx); err != nil || n != 2 {
		t.Fatalf("Reindex: %d, %v; want 2 runs", n, err)
	}
	if got := queue(); len(got) != 1 || got[0].ID != held.ID {
		t.Fatalf("review queue after reindexing: %+v", got)
	}
	page, err := s.List(ctx, wes.RunFilter{PageSize: 10, Workflow: "wf", State: wes.StateQueued})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].ID != other.ID {
		t.Fatalf("queued runs of wf after reindexing: %+v %v", page.Runs, err)
	}
	if n, err := s.Reindex(ctx); err != nil || n != 0 {
		t.Fatalf("a second Reindex: %d, %v; want nothing to do", n, err)
	}
}
