package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/egresstest"
	"github.com/spe4hd/enclave/pkg/egress/s3"
	"github.com/spe4hd/enclave/pkg/notify"
	"github.com/spe4hd/enclave/pkg/wes"
)

// reviewCatalog is the example catalogue with its Snakemake entry under egress review,
// releasing any CSV under results/, needing approvals approvals.
func reviewCatalog(t *testing.T, approvals string) *catalog.Holder {
	t.Helper()
	h, _ := exampleCatalog(t,
		[2]string{"      globs: [results/summary.csv]\n", "      globs: [results/*.csv]\n"},
		[2]string{"      max_files: 1\n    logs: admin\n    egress: auto\n", "      max_files: 5\n    logs: admin\n    egress: review\n    approvals: " + approvals + "\n"})
	return h
}

// heldRun stores a finished run of alice's over cohort-count-smk whose files (path →
// content) wait for review, written to its work dir with the sha256 an approval checks.
func (e *testEnv) heldRun(t *testing.T, files map[string]string, required int) *wes.Run {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	work := wes.LayoutFor(e.dataDir, id).WorkDir()
	run := &wes.Run{ID: id, Owner: "alice", State: wes.StateComplete, WorkDir: work, Workflow: "cohort-count-smk"}
	for path, body := range files {
		f := filepath.Join(work, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(f), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(body))
		run.Released = append(run.Released, wes.Output{Path: path, Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]),
			ContentType: "text/csv", Status: wes.OutputPending, ApprovalsRequired: required})
	}
	if err := e.store.Create(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	return run
}

// realResults is a result store on the real MinIO of the tests.
func realResults(t *testing.T) *s3.Store {
	t.Helper()
	st, err := s3.New(context.Background(), egresstest.S3Config(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func statusOf(l *OutputList, path string) OutputView {
	for _, o := range l.Outputs {
		if o.Path == path {
			return o
		}
	}
	return OutputView{}
}

var (
	alice = &wes.Principal{Subject: "alice", Roles: []string{wes.RoleResearcher}}
	carol = &wes.Principal{Subject: "carol", Roles: []string{wes.RoleDataController}}
	dave  = &wes.Principal{Subject: "dave", Roles: []string{wes.RoleDataController}}
)

// A workflow that needs two approvals releases a file only after two distinct reviewers
// approved it: the first approval leaves it pending (the owner sees 1 of 2), the same
// reviewer cannot approve twice, the second reviewer's approval releases it to the real
// object store.
func TestTwoApprovalsRelease(t *testing.T) {
	results := realResults(t)
	e := newTestEnv(t, func(d *Deps) { d.Catalog = reviewCatalog(t, "2"); d.Results = results })
	ctx := context.Background()
	run := e.heldRun(t, map[string]string{"results/summary.csv": "site,count\nA,12\n"}, 2)
	key := egress.KeyPrefix("alice", run.ID) + "results/summary.csv"

	l, err := e.s.Review(ctx, carol, run.ID, &Decision{Decision: Approve})
	if err != nil {
		t.Fatal(err)
	}
	if o := statusOf(l, "results/summary.csv"); o.Status != wes.OutputPending || o.Approvals != 1 || o.ApprovalsRequired != 2 {
		t.Fatalf("after one approval: %+v, want pending with 1 of 2", o)
	}
	if _, _, err := results.Get(ctx, key); !wes.IsCode(err, wes.ENOTFOUND) {
		t.Fatalf("released after one approval of two: %v", err)
	}
	if _, err := e.s.Review(ctx, carol, run.ID, &Decision{Decision: Approve}); !wes.IsCode(err, wes.ECONFLICT) ||
		!strings.Contains(wes.ErrorMessage(err), "1 more approval") {
		t.Fatalf("the same reviewer approving again: %v, want ECONFLICT", err)
	}
	owner, err := e.s.Outputs(ctx, alice, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o := statusOf(owner, "results/summary.csv"); o.Approvals != 1 || len(o.ApprovedBy) != 0 || o.SHA256 != "" {
		t.Fatalf("the owner's view while pending: %+v, want the count only", o)
	}
	if l, err = e.s.Review(ctx, dave, run.ID, &Decision{Decision: Approve}); err != nil {
		t.Fatal(err)
	}
	if o := statusOf(l, "results/summary.csv"); o.Status != wes.OutputReleased || strings.Join(o.ApprovedBy, ",") != "carol,dave" {
		t.Fatalf("after the second approval: %+v", o)
	}
	if _, info, err := results.Get(ctx, key); err != nil || info.SHA256 != run.Released[0].SHA256 {
		t.Fatalf("the released object: %+v %v", info, err)
	}
	page, err := e.trail.Query(ctx, wes.AuditFilter{RunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	var approve, release []string
	for _, en := range page.Entries {
		switch en.Event.Action {
		case "output.approve":
			approve = append(approve, en.Event.Actor)
		case "egress.release":
			release = append(release, en.Event.Actor)
		}
	}
	if strings.Join(approve, ",") != "carol" || strings.Join(release, ",") != "dave" {
		t.Errorf("audit: approvals %v releases %v, want carol's first approval and dave's release", approve, release)
	}
}

// The deployment's zone.review.approvals is a floor a catalogue entry cannot lower, and a
// rejection by any reviewer rejects a file however many approved it.
func TestApprovalsFloorAndRejection(t *testing.T) {
	results := realResults(t)
	e := newTestEnv(t, func(d *Deps) { d.Catalog = reviewCatalog(t, "1"); d.Results = results })
	e.s.cfg.EgressLimits.Approvals = 2
	ctx := context.Background()
	run := e.heldRun(t, map[string]string{"results/summary.csv": "site,count\nA,12\n"}, 1)
	l, err := e.s.Review(ctx, carol, run.ID, &Decision{Decision: Approve})
	if err != nil {
		t.Fatal(err)
	}
	if o := statusOf(l, "results/summary.csv"); o.Status != wes.OutputPending || o.ApprovalsRequired != 2 {
		t.Fatalf("one approval under a floor of two: %+v", o)
	}
	if l, err = e.s.Review(ctx, dave, run.ID, &Decision{Decision: Reject, Reason: "a cell of 12 at one site identifies"}); err != nil {
		t.Fatal(err)
	}
	if o := statusOf(l, "results/summary.csv"); o.Status != wes.OutputRejected {
		t.Fatalf("rejected after an approval: %+v", o)
	}
}

// Per-file decisions: a reviewer releases one file, rejects another with a reason and
// leaves a third pending; the owner sees each file's status and reason, and once the
// last is decided the run's log records a partial release.
func TestPerFileDecisions(t *testing.T) {
	results := realResults(t)
	e := newTestEnv(t, func(d *Deps) { d.Catalog = reviewCatalog(t, "1"); d.Results = results })
	ctx := context.Background()
	run := e.heldRun(t, map[string]string{"results/a.csv": "x,count\nA,12\n", "results/b.csv": "x,count\nB,3\n",
		"results/c.csv": "x,count\nC,40\n"}, 1)
	for _, bad := range []*Decision{
		{Files: []FileDecision{{Path: "results/b.csv", Decision: Reject}}},                                    // no reason
		{Files: []FileDecision{{Path: "results/a.csv", Decision: Approve}, {Path: "results/a.csv"}}},          // twice
		{Files: []FileDecision{{Path: "../etc/passwd", Decision: Approve}}},                                   // not an output
		{Files: []FileDecision{{Path: "results/a.csv", Decision: "maybe"}}},                                   // no such decision
		{Decision: Reject, Reason: "bad\x00reason", Files: []FileDecision{{Path: "results/a.csv"}}},           // control character
		{Files: []FileDecision{{Path: "results/a.csv", Decision: Reject, Reason: strings.Repeat("x", 1001)}}}, // too long
	} {
		if _, err := e.s.Review(ctx, carol, run.ID, bad); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("decision %+v: %v, want EINVALID", bad, err)
		}
	}
	l, err := e.s.Review(ctx, carol, run.ID, &Decision{Files: []FileDecision{
		{Path: "results/a.csv", Decision: Approve},
		{Path: "results/b.csv", Decision: Reject, Reason: "count of 3 at site B"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"results/a.csv": wes.OutputReleased, "results/b.csv": wes.OutputRejected, "results/c.csv": wes.OutputPending}
	for p, st := range want {
		if o := statusOf(l, p); o.Status != st {
			t.Errorf("%s: %s, want %s", p, o.Status, st)
		}
	}
	if _, err := e.s.Review(ctx, carol, run.ID, &Decision{Files: []FileDecision{{Path: "results/b.csv", Decision: Approve}}}); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("approving a rejected file: %v, want ECONFLICT", err)
	}
	if _, err := e.s.Review(ctx, carol, run.ID, &Decision{Decision: Reject, Reason: "not needed for the paper"}); err != nil {
		t.Fatal(err)
	}
	owner, err := e.s.Outputs(ctx, alice, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o := statusOf(owner, "results/b.csv"); o.Reason != "count of 3 at site B" {
		t.Errorf("the owner's view of b.csv: %+v", o)
	}
	if o := statusOf(owner, "results/c.csv"); o.Status != wes.OutputRejected || o.Reason != "not needed for the paper" {
		t.Errorf("the owner's view of c.csv: %+v", o)
	}
	r, err := e.store.Get(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if logs := strings.Join(r.Log.SystemLogs, "\n"); !strings.Contains(logs, "partial release: 1 of 3") || !strings.Contains(logs, "results/b.csv: count of 3 at site B") {
		t.Errorf("the run's log: %s", logs)
	}
	page, err := e.trail.Query(ctx, wes.AuditFilter{RunID: run.ID, Action: "output.review"})
	if err != nil || len(page.Entries) != 2 || page.Entries[0].Event.Detail["decision"] != "mixed" || page.Entries[0].Event.Detail["undecided"] != "1" {
		t.Errorf("audit of the decisions: %+v %v", page.Entries, err)
	}
}

// waitEvents waits (up to a deadline) until events reports n events and returns them.
func waitEvents(t *testing.T, events func() []notify.CloudEvent, n int) []notify.CloudEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(events()) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return events()
}

// Review's notices: a first approval of a file that needs two tells nobody (nothing
// changed for the owner); the second tells of the decision and the release; a mixed
// per-file decision is said as mixed.
func TestReviewNotices(t *testing.T) {
	results := realResults(t)
	e, events := notifyEnv(t, nil, func(d *Deps) { d.Catalog = reviewCatalog(t, "2"); d.Results = results })
	ctx := context.Background()
	run := e.heldRun(t, map[string]string{"results/a.csv": "x,count\nA,12\n", "results/b.csv": "x,count\nB,3\n"}, 2)
	if _, err := e.s.Review(ctx, carol, run.ID, &Decision{Files: []FileDecision{{Path: "results/a.csv", Decision: Approve}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Review(ctx, dave, run.ID, &Decision{Files: []FileDecision{{Path: "results/a.csv", Decision: Approve},
		{Path: "results/b.csv", Decision: Reject, Reason: "count of 3"}}}); err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, events, 2)
	var types []string
	for _, ev := range evs {
		types = append(types, strings.TrimPrefix(ev.Type, notify.TypePrefix))
		if ev.Type == notify.TypePrefix+wes.NoticeReviewDecided && (ev.Data.Decision != "mixed" || ev.Data.Outputs[wes.OutputReleased] != 1) {
			t.Errorf("review.decided: %+v", ev.Data)
		}
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{wes.NoticeOutputReleased, wes.NoticeReviewDecided}) {
		t.Errorf("notices %v, want one review.decided and one output.released (none for the first approval)", types)
	}
}
