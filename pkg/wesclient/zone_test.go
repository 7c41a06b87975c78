package wesclient_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// catalogRun submits a run of catalogue workflow wf on the demo cohort and waits for
// it to be COMPLETE.
func catalogRun(t *testing.T, c *wesclient.Client, wf string) string {
	t.Helper()
	ctx := context.Background()
	id, err := c.Submit(ctx, wesclient.RunRequest{WorkflowURL: wf, WorkflowParams: map[string]any{"cohort": "cohort-demo"}}, "")
	if err != nil {
		t.Fatalf("submit %s: %v", wf, err)
	}
	st, err := c.Wait(ctx, id, wesclient.WaitOptions{Interval: 100 * time.Millisecond})
	if err != nil || st.State != api.StateCOMPLETE {
		rl, _ := c.RunLog(ctx, id)
		t.Fatalf("run of %s: %+v %v; want COMPLETE. Run log: %+v", wf, st, err, rl.RunLog)
	}
	return id
}

// download fetches a released output whole and checks it against its listed sha256.
func download(t *testing.T, c *wesclient.Client, id, path string) string {
	t.Helper()
	ctx := context.Background()
	out, err := c.ReleasedOutput(ctx, id, path)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := c.Download(ctx, id, out.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	body, err := io.ReadAll(dl)
	sum := sha256.Sum256(body)
	if err != nil || hex.EncodeToString(sum[:]) != out.Sha256 || dl.SHA256 != out.Sha256 {
		t.Errorf("download of %s: %v, sha256 %x, X-Enclave-SHA256 %s; want the listed %s", path, err, sum, dl.SHA256, out.Sha256)
	}
	return string(body)
}

// The sealed zone's extensions against a real Enclave: the catalogue, a catalogue run
// released automatically and downloaded, one held for review (refused download,
// rejected without a reason, approved), deletion, and the audit trail.
func TestZoneExtensions(t *testing.T) {
	needEngines(t, "snakemake", "cwltool")
	c := client(t, startServer(t, nil), "", nil)
	ctx := context.Background()

	wl, err := c.CatalogWorkflows(ctx)
	if err != nil || len(wl.Workflows) != 2 {
		t.Fatalf("catalogue workflows: %+v %v; want the example's two", wl, err)
	}
	dl, err := c.CatalogDatasets(ctx)
	if err != nil || len(dl.Datasets) == 0 || dl.Datasets[0].Id != "cohort-demo" {
		t.Fatalf("catalogue datasets: %+v %v", dl, err)
	}

	auto := catalogRun(t, c, "cohort-count-smk")
	if got := download(t, c, auto, "results/summary.csv"); !strings.HasPrefix(got, "site,count") {
		t.Errorf("summary %q; want the per-site counts", got)
	}
	_, err = c.Review(ctx, auto, api.OutputReview{Decision: api.OutputReviewDecisionApprove})
	wantError(t, "review of a run with nothing pending", err, 409, "no outputs waiting")

	held := catalogRun(t, c, "cohort-count-cwl")
	if _, err := c.ReleasedOutput(ctx, held, "outputs/summary.csv"); err == nil || !strings.Contains(err.Error(), "waiting for a data controller") {
		t.Errorf("an output held for review: %v; want it said to be waiting", err)
	}
	// With authentication off the anonymous user is every role, reviewer included: it may
	// inspect the held output to decide on it, as it may review it (audited as
	// output.inspect); a researcher's 409 is in pkg/runs' TestReviewerInspectsPendingOutput.
	if dl, err := c.Download(ctx, held, "outputs/summary.csv"); err != nil {
		t.Errorf("inspection of a held output with authentication off: %v", err)
	} else {
		got, _ := io.ReadAll(dl)
		dl.Close()
		if !strings.HasPrefix(string(got), "site,count") {
			t.Errorf("inspection of a held output with authentication off: %q", got)
		}
	}
	_, err = c.Review(ctx, held, api.OutputReview{Decision: api.OutputReviewDecisionReject})
	wantError(t, "reject without a reason", err, 400, "reason is required")
	l, err := c.Review(ctx, held, api.OutputReview{Decision: api.OutputReviewDecisionApprove, Reason: "aggregate only"})
	if err != nil || len(l.Outputs) != 1 || l.Outputs[0].Status != api.RunOutputStatusReleased {
		t.Fatalf("approve: %+v %v; want the summary released", l, err)
	}
	if got := download(t, c, held, "outputs/summary.csv"); !strings.HasPrefix(got, "site,count") {
		t.Errorf("approved summary %q", got)
	}

	if _, err := c.Delete(ctx, auto); err != nil {
		t.Fatal(err)
	}
	if l, err := c.Outputs(ctx, auto); err != nil || len(l.Outputs) != 0 {
		t.Errorf("outputs after delete: %+v %v; want none", l, err)
	}

	page, err := c.QueryAudit(ctx, api.QueryAuditParams{RunId: held, Action: "output.*"})
	if err != nil || len(page.Entries) == 0 {
		t.Fatalf("audit of the review: %+v %v", page, err)
	}
	for _, e := range page.Entries {
		if e.Event.RunId != held || !strings.HasPrefix(e.Event.Action, "output.") {
			t.Errorf("audit entry %+v outside the query", e.Event)
		}
	}
	_, err = c.QueryAudit(ctx, api.QueryAuditParams{Limit: 5000})
	wantError(t, "an audit page too large", err, 400, "limit")
	export, err := c.ExportAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer export.Close()
	lines, deleted := 0, false
	sc := bufio.NewScanner(export)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines++
		deleted = deleted || strings.Contains(sc.Text(), `"run.delete"`)
	}
	if sc.Err() != nil || lines < 5 || !deleted {
		t.Errorf("audit export: %d lines (%v), run.delete seen %t", lines, sc.Err(), deleted)
	}
}
