package runs

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/wes"
)

// A data controller sees every run but may not stop or delete another user's: each
// refusal is a 403 and an audit event naming the action, the run and its owner.
func TestOthersRunRefusalsAreAudited(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	finished := &wes.Run{ID: uuid.Must(uuid.NewV7()).String(), Owner: "alice", State: wes.StateQueued}
	if err := e.store.Create(ctx, finished); err != nil {
		t.Fatal(err)
	}
	dc := &wes.Principal{Subject: "dora", Roles: []string{wes.RoleDataController}}
	if _, err := e.s.Cancel(ctx, dc, finished.ID); !wes.IsCode(err, wes.EFORBIDDEN) {
		t.Fatalf("a data controller's cancel of alice's run: %v, want EFORBIDDEN", err)
	}
	if _, err := e.s.Delete(ctx, dc, finished.ID); !wes.IsCode(err, wes.EFORBIDDEN) {
		t.Fatalf("a data controller's delete of alice's run: %v, want EFORBIDDEN", err)
	}
	for _, action := range []string{"run.cancel", "run.delete"} {
		page, err := e.trail.Query(ctx, wes.AuditFilter{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != 1 {
			t.Fatalf("%s events: %+v, want the one refusal", action, page.Entries)
		}
		ev := page.Entries[0].Event
		if ev.Actor != "dora" || ev.Outcome != "refused" || ev.RunID != finished.ID || ev.Detail["owner"] != "alice" {
			t.Errorf("%s event %+v, want dora refused on alice's run", action, ev)
		}
	}
	if r, _ := e.store.Get(ctx, finished.ID); r.Cancelling() {
		t.Error("the refused cancel changed the run")
	}
}

// Separation of duties: a data controller may not review the outputs of a run they own,
// and the attempt is audited; nothing is released.
func TestNoReviewOfOwnRun(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	run := &wes.Run{ID: uuid.Must(uuid.NewV7()).String(), Owner: "dora", State: wes.StateComplete, Workflow: "wf",
		Released: []wes.Output{{Path: "results/t.csv", Status: wes.OutputPending, SHA256: "x"}}}
	if err := e.store.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	dc := &wes.Principal{Subject: "dora", Roles: []string{wes.RoleDataController, wes.RoleResearcher}}
	if _, err := e.s.Review(ctx, dc, run.ID, &Decision{Decision: Approve}); !wes.IsCode(err, wes.EFORBIDDEN) {
		t.Fatalf("approving one's own run: %v, want EFORBIDDEN", err)
	}
	page, err := e.trail.Query(ctx, wes.AuditFilter{Action: "output.review"})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Event.Outcome != "refused" {
		t.Fatalf("audit of the attempt: %+v %v", page.Entries, err)
	}
	if got, _ := e.store.Get(ctx, run.ID); got.Released[0].Status != wes.OutputPending {
		t.Errorf("the output is %s after a refused review", got.Released[0].Status)
	}
}
