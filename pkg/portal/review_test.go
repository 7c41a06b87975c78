package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// hostileCSV is a held output whose cells try to become markup on the reviewer's page.
const hostileCSV = "group,n\n<img src=x onerror=alert(1)>,12\n\"<script>alert(2)</script>\",3\n"

func TestReviewPageAndApprove(t *testing.T) {
	h := newHarness(t, nil)
	r := h.createRun("alice", nil)
	h.finish(r.ID, h.heldOutput(r, "outputs/summary.csv", hostileCSV))
	carol := h.browser("carol")

	queue := carol.get("/review")
	mustContain(t, "review queue", queue.body, `href="/review/`+r.ID+`"`, "Review queue")

	pg := carol.get("/review/" + r.ID)
	if pg.status != 200 {
		t.Fatalf("review page: %d", pg.status)
	}
	mustContain(t, "review page", pg.body,
		`<th scope="col">group</th>`, "<td>&lt;img src=x onerror=alert(1)&gt;</td>", "<td>&lt;script&gt;alert(2)&lt;/script&gt;</td>",
		"min_cell_count: failed — row 2, column n: 3 &lt; 5", // check results with where they failed
		"cohort-count.cwl", "version 1.0.0", // provenance
		"0 of 1 approvals",
		`<legend><code>outputs/summary.csv</code></legend>`,
		`<label for="decision-0-approve">Approve</label>`, `<label for="decision-0-reject">Reject</label>`,
		`<label for="reason-0">Reason for outputs/summary.csv`, `<button type="submit">Submit decisions</button>`,
		`href="/runs/`+r.ID+`/outputs/outputs/summary.csv" download>`)
	mustNotContain(t, "review page", pg.body, "<img src=x", "<script>alert")
	// The preview was an inspection, audited as such.
	if !auditHas(t, h, r.ID, "output.inspect") {
		t.Error("the preview was not audited as output.inspect")
	}
	// The pending file downloads for the reviewer (not for its owner).
	if dl := carol.get("/runs/" + r.ID + "/outputs/outputs/summary.csv"); dl.status != 200 || dl.body != hostileCSV {
		t.Errorf("reviewer download: %d", dl.status)
	}
	if dl := h.browser("alice").get("/runs/" + r.ID + "/outputs/outputs/summary.csv"); dl.status != http.StatusConflict {
		t.Errorf("owner download of a pending output: %d, want 409", dl.status)
	}

	// Nothing chosen: the form says so, and nothing changes.
	none := carol.post("/review/"+r.ID, url.Values{"path.0": {"outputs/summary.csv"}, "decision.0": {""}}, true)
	if none.status != http.StatusBadRequest || !strings.Contains(none.body, "Choose Approve or Reject") {
		t.Errorf("no decision: %d", none.status)
	}
	// A rejection needs a reason: shown at the file's reason field.
	rej := carol.post("/review/"+r.ID, url.Values{"path.0": {"outputs/summary.csv"}, "decision.0": {"reject"}}, true)
	mustContain(t, "reject without reason", rej.body, `<p class="field-error" id="reason-0-error">a reason is required to reject`,
		`id="decision-0-reject" name="decision.0" value="reject" checked`)
	if rej.status != http.StatusBadRequest {
		t.Errorf("reject without reason: %d, want 400", rej.status)
	}

	ok := carol.post("/review/"+r.ID, url.Values{"path.0": {"outputs/summary.csv"}, "decision.0": {"approve"}}, true)
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != "/review/"+r.ID+"?done=reviewed" {
		t.Fatalf("approve: %d %q %s", ok.status, ok.header.Get("Location"), ok.body)
	}
	if o := h.getRun(r.ID).Released[0]; o.Status != wes.OutputReleased {
		t.Errorf("after approval the output is %s", o.Status)
	}
	after := carol.get(ok.header.Get("Location"))
	mustContain(t, "after approval", after.body, "Your decision was recorded.", "No file of this run is waiting", "outputs/summary.csv</code>: released")
	// The owner now downloads it.
	if dl := h.browser("alice").get("/runs/" + r.ID + "/outputs/outputs/summary.csv"); dl.status != 200 || dl.body != hostileCSV {
		t.Errorf("owner download after release: %d", dl.status)
	}
}

func TestReviewRejectAndRoles(t *testing.T) {
	h := newHarness(t, nil)
	r := h.createRun("alice", nil)
	h.finish(r.ID, h.heldOutput(r, "outputs/summary.csv", "a,n\nx,1\n"))
	if pg := h.browser("alice").get("/review/" + r.ID); pg.status != http.StatusForbidden {
		t.Errorf("owner opens the review page: %d, want 403", pg.status)
	}
	// A researcher posting a decision anyway is refused (by the page before the service).
	if pg := h.browser("alice").post("/review/"+r.ID, url.Values{"path.0": {"outputs/summary.csv"}, "decision.0": {"approve"}}, true); pg.status != http.StatusForbidden {
		t.Errorf("owner posts a decision: %d, want 403", pg.status)
	}
	if pg := h.browser("bob").get("/review/" + r.ID); pg.status != http.StatusForbidden {
		t.Errorf("bob: %d", pg.status)
	}
	carol := h.browser("carol")
	pg := carol.post("/review/"+r.ID, url.Values{"path.0": {"outputs/summary.csv"}, "decision.0": {"reject"},
		"reason.0": {"a cell of 1 identifies a patient"}}, true)
	if pg.status != http.StatusSeeOther {
		t.Fatalf("reject: %d %s", pg.status, pg.body)
	}
	o := h.getRun(r.ID).Released[0]
	if o.Status != wes.OutputRejected || o.Reason != "a cell of 1 identifies a patient" {
		t.Errorf("after rejection: %+v", o)
	}
	mustContain(t, "owner's run page", h.browser("alice").get("/runs/"+r.ID).body, "rejected", "a cell of 1 identifies a patient")
	// A form for a file that is no longer pending changes nothing.
	again := carol.post("/review/"+r.ID, url.Values{"path.0": {"outputs/summary.csv"}, "decision.0": {"approve"}}, true)
	if again.status != http.StatusBadRequest {
		t.Errorf("decision on a decided file: %d", again.status)
	}
}

func auditHas(t *testing.T, h *harness, runID, action string) bool {
	t.Helper()
	page, err := h.svc.AuditQuery(context.Background(), testUsers["root"], auditQuery(runID))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Entries {
		if e.Event.Action == action {
			return true
		}
	}
	return false
}
