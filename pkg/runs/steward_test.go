package runs

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/wes"
)

// stewardCatalog is the example catalogue with its dataset cohort-demo given the steward
// group stewards-a.
func stewardCatalog(t *testing.T) *catalog.Holder {
	t.Helper()
	h, _ := exampleCatalog(t, [2]string{"    path: cohort-demo/patients.csv\n", "    path: cohort-demo/patients.csv\n    stewards: [stewards-a]\n"})
	return h
}

// A data controller who is not a steward of a dataset the run read may not review its
// outputs (refused, audited); a steward may, and so may an administrator.
func TestStewardsReviewTheirDatasets(t *testing.T) {
	e := newTestEnv(t, func(d *Deps) { d.Catalog = stewardCatalog(t) })
	ctx := context.Background()
	run := &wes.Run{ID: uuid.Must(uuid.NewV7()).String(), Owner: "alice", State: wes.StateComplete,
		Workflow: "cohort-count-cwl", Datasets: []string{"cohort-demo"},
		Released: []wes.Output{{Path: "outputs/summary.csv", Status: wes.OutputPending, SHA256: "x"}}}
	if err := e.store.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	reject := &Decision{Decision: Reject, Reason: "small counts"}
	other := &wes.Principal{Subject: "olga", Roles: []string{wes.RoleDataController}, Groups: []string{"stewards-b"}}
	if _, err := e.s.Review(ctx, other, run.ID, reject); !wes.IsCode(err, wes.EFORBIDDEN) || !strings.Contains(wes.ErrorMessage(err), "stewards-a") {
		t.Fatalf("a steward of another dataset reviewing: %v, want EFORBIDDEN naming the stewards", err)
	}
	if _, err := e.s.Download(ctx, other, run.ID, "outputs/summary.csv"); !wes.IsCode(err, wes.ECONFLICT) {
		t.Fatalf("a steward of another dataset inspecting: %v, want the owner's 409", err)
	}
	page, err := e.trail.Query(ctx, wes.AuditFilter{Action: "output.review"})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Event.Actor != "olga" || page.Entries[0].Event.Outcome != "refused" {
		t.Fatalf("audit of the refused review: %+v %v", page.Entries, err)
	}
	steward := &wes.Principal{Subject: "sam", Roles: []string{wes.RoleDataController}, Groups: []string{"stewards-a"}}
	if l, err := e.s.Review(ctx, steward, run.ID, reject); err != nil || l.Outputs[0].Status != wes.OutputRejected {
		t.Fatalf("the dataset's steward rejecting: %+v %v", l, err)
	}
	// A run over a dataset the catalogue no longer has: administrators only.
	lost := &wes.Run{ID: uuid.Must(uuid.NewV7()).String(), Owner: "alice", State: wes.StateComplete,
		Workflow: "cohort-count-cwl", Datasets: []string{"cohort-gone"},
		Released: []wes.Output{{Path: "outputs/summary.csv", Status: wes.OutputPending, SHA256: "x"}}}
	if err := e.store.Create(ctx, lost); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Review(ctx, steward, lost.ID, reject); !wes.IsCode(err, wes.EFORBIDDEN) {
		t.Fatalf("reviewing a run over a dataset that left the catalogue: %v, want EFORBIDDEN", err)
	}
	admin := &wes.Principal{Subject: "ada", Roles: []string{wes.RoleAdmin}}
	if _, err := e.s.Review(ctx, admin, lost.ID, reject); err != nil {
		t.Fatalf("an administrator reviewing it: %v", err)
	}
}
