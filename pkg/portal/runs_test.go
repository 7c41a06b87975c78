package portal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

var csrfValue = regexp.MustCompile(`name="csrf" value="[^"]*"`)

// TestForeignRunIsNotFound: another user's run answers exactly as a run that does not
// exist, on every route that takes a run id.
func TestForeignRunIsNotFound(t *testing.T) {
	h := newHarness(t, nil)
	r := h.createRun("alice", nil)
	h.finish(r.ID, h.heldOutput(r, "outputs/summary.csv", "a\n1\n"))
	unknown := "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"
	bob := h.browser("bob")
	for _, tmpl := range []string{"/runs/%s", "/runs/%s/ro-crate", "/runs/%s/outputs/outputs/summary.csv", "/runs/%s/logs/stdout"} {
		foreign, none := bob.get(strings.ReplaceAll(tmpl, "%s", r.ID)), bob.get(strings.ReplaceAll(tmpl, "%s", unknown))
		if foreign.status != http.StatusNotFound || none.status != http.StatusNotFound {
			t.Errorf("%s: foreign %d, unknown %d, want 404 for both", tmpl, foreign.status, none.status)
		}
		if a, b := csrfValue.ReplaceAllString(foreign.body, ""), csrfValue.ReplaceAllString(none.body, ""); a != b {
			t.Errorf("%s: the foreign run's page differs from the unknown run's", tmpl)
		}
		mustNotContain(t, tmpl, foreign.body, r.ID, "alice")
	}
	mustContain(t, "404 page", bob.get("/runs/"+r.ID).body, "Not found", "it does not exist, or it is not yours", `href="/runs"`)
	if pg := bob.get("/runs/" + r.ID + "/status"); pg.status != http.StatusNotFound || strings.Contains(pg.body, "state") {
		t.Errorf("foreign status: %d %s", pg.status, pg.body)
	}
	for _, action := range []string{"cancel", "delete"} {
		if pg := bob.post("/runs/"+r.ID+"/"+action, url.Values{}, true); pg.status != http.StatusNotFound {
			t.Errorf("bob POST %s: %d, want 404", action, pg.status)
		}
	}
	if pg := bob.get("/runs"); strings.Contains(pg.body, r.ID) {
		t.Error("bob's runs list shows alice's run")
	}
	if pg := h.browser("carol").get("/runs/" + r.ID); pg.status != 200 {
		t.Errorf("data controller GET alice's run: %d, want 200", pg.status)
	}
}

// TestHostileOutputNamesEscaped: what a workflow names its outputs reaches the page as
// text, never as markup, and its download link stays one path under the run.
func TestHostileOutputNamesEscaped(t *testing.T) {
	h := newHarness(t, nil)
	name := `outputs/<script>alert(1)</script>"'.csv`
	r := h.createRun("alice", nil)
	h.finish(r.ID, wes.Output{Path: name, Status: wes.OutputRejected, Reason: `<img src=x onerror=alert(2)>`})
	body := h.browser("alice").get("/runs/" + r.ID).body
	mustNotContain(t, "run page", body, "<script>alert", "<img src=x")
	mustContain(t, "run page", body, "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;")
	if got := outputURL("/", r.ID, "a b/<c>?#.csv"); got != "/runs/"+r.ID+"/outputs/a%20b/%3Cc%3E%3F%23.csv" {
		t.Errorf("outputURL = %q", got)
	}
}

// TestRunPageAndDownload: a finished run shows its released output with a download that
// goes through the run service (audited), its timeline, tasks and the RO-Crate link;
// with no zone path anywhere.
func TestRunPageAndDownload(t *testing.T) {
	h := newHarness(t, nil)
	r := h.createRun("alice", nil)
	content := "group,n\nA,12\n"
	sum := sha256.Sum256([]byte(content))
	key := "alice/" + r.ID + "/outputs/summary.csv"
	if _, err := h.results.Put(context.Background(), key, strings.NewReader(content), int64(len(content)), "text/csv"); err != nil {
		t.Fatal(err)
	}
	h.finish(r.ID, wes.Output{Path: "outputs/summary.csv", Status: wes.OutputReleased, Key: key, Size: int64(len(content)),
		SHA256: hex.EncodeToString(sum[:]), ContentType: "text/csv", Released: time.Now().UTC()})
	b := h.browser("alice")
	pg := b.get("/runs/" + r.ID)
	mustContain(t, "run page", pg.body, "COMPLETE", `href="/runs/`+r.ID+`/outputs/outputs/summary.csv" download>Download`,
		`href="/runs/`+r.ID+`/ro-crate">Download RO-Crate`, "egress: outputs held for review in",
		`<button type="submit" class="danger">Delete run files</button>`, `href="/runs/`+r.ID+`/logs/stdout">standard output`)
	mustNotContain(t, "run page", pg.body, h.dataDir, "Cancel run", "data-status-url")
	dl := b.get("/runs/" + r.ID + "/outputs/outputs/summary.csv")
	if dl.status != 200 || dl.body != content || !strings.HasPrefix(dl.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %d %q %v", dl.status, dl.body, dl.header)
	}
	crate := b.get("/runs/" + r.ID + "/ro-crate")
	if crate.status != 200 || !strings.Contains(crate.body, "@graph") || crate.header.Get("Content-Type") != "application/ld+json" {
		t.Errorf("ro-crate: %d %v", crate.status, crate.header)
	}
	page, err := h.svc.AuditQuery(context.Background(), testUsers["root"], auditQuery(r.ID))
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range page.Entries {
		actions = append(actions, e.Event.Action)
	}
	mustContain(t, "audit trail", strings.Join(actions, " "), "output.download", "run.ro_crate")
	// Logs under the workflow's policy (cohort-count-cwl: owner) are the service's to give.
	if lg := b.get("/runs/" + r.ID + "/logs/stdout"); lg.status != 200 {
		t.Errorf("owner's log: %d", lg.status)
	}
	if lg := b.get("/runs/" + r.ID + "/logs/other"); lg.status != http.StatusBadRequest {
		t.Errorf("unknown stream: %d, want 400", lg.status)
	}
	// Delete through the form.
	del := b.post("/runs/"+r.ID+"/delete", url.Values{}, true)
	if del.status != http.StatusSeeOther || del.header.Get("Location") != "/runs/"+r.ID+"?done=deleted" {
		t.Fatalf("delete: %d %q", del.status, del.header.Get("Location"))
	}
	mustContain(t, "after delete", b.get(del.header.Get("Location")).body, "files and outputs were deleted")
	if dl := b.get("/runs/" + r.ID + "/outputs/outputs/summary.csv"); dl.status == 200 {
		t.Error("a deleted output still downloads")
	}
}

func TestCancelAndConflicts(t *testing.T) {
	h := newHarness(t, nil)
	r := h.createRun("alice", nil)
	b := h.browser("alice")
	if pg := b.post("/runs/"+r.ID+"/delete", url.Values{}, true); pg.status != http.StatusConflict {
		t.Errorf("delete a queued run: %d, want 409", pg.status)
	} else {
		mustContain(t, "409 page", pg.body, "cancel it and wait")
	}
	pg := b.post("/runs/"+r.ID+"/cancel", url.Values{}, true)
	if pg.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", pg.status)
	}
	if st := h.getRun(r.ID).State; st != wes.StateCanceling {
		t.Errorf("after cancel: %s", st)
	}
	// A data controller sees the run but may not cancel it: the service says so.
	if pg := h.browser("carol").post("/runs/"+r.ID+"/cancel", url.Values{}, true); pg.status != http.StatusForbidden {
		t.Errorf("carol cancel: %d, want 403", pg.status)
	}
}

func TestRunsListFiltersAndPaging(t *testing.T) {
	h := newHarness(t, nil)
	var ids []string
	for range 23 {
		ids = append(ids, h.createRun("alice", nil).ID)
	}
	done := h.createRun("alice", nil)
	h.finish(done.ID, h.heldOutput(done, "outputs/summary.csv", "a\n1\n"))
	h.createRun("bob", nil)
	b := h.browser("alice")
	first := b.get("/runs")
	if n := strings.Count(first.body, "<tr>") - 1; n != listPageSize {
		t.Errorf("first page has %d runs, want %d", n, listPageSize)
	}
	if strings.Index(first.body, done.ID) > strings.Index(first.body, ids[22]) {
		t.Error("runs are not newest first")
	}
	m := regexp.MustCompile(`<a href="([^"]+)" rel="next">Next page</a>`).FindStringSubmatch(first.body)
	if m == nil {
		t.Fatal("no Next page link")
	}
	second := b.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	if n := strings.Count(second.body, "<tr>") - 1; n != 4 || !strings.Contains(second.body, ids[0]) || strings.Contains(second.body, "Next page") {
		t.Errorf("second page has %d runs", n)
	}
	pending := b.get("/runs?review=pending")
	if n := strings.Count(pending.body, "<tr>") - 1; n != 1 || !strings.Contains(pending.body, done.ID) {
		t.Errorf("review=pending shows %d runs", n)
	}
	complete := b.get("/runs?state=COMPLETE")
	mustContain(t, "state filter", complete.body, done.ID, `<option value="COMPLETE" selected>`)
	if bad := b.get("/runs?state=NOPE"); bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "not a WES state") {
		t.Errorf("bad state: %d", bad.status)
	}
	if all := h.browser("carol").get("/runs"); !strings.Contains(all.body, `<th scope="col">Owner</th>`) || !strings.Contains(all.body, "bob") {
		t.Error("a data controller's list lacks the owners")
	}
}

// TestNoZonePathAnywhere: no page, error or JSON answer shows where the zone keeps its
// data, even where the run's own messages name it.
func TestNoZonePathAnywhere(t *testing.T) {
	h := newHarness(t, nil)
	r := h.createRun("alice", nil)
	h.finish(r.ID, h.heldOutput(r, "outputs/summary.csv", "a,b\n1,2\n"))
	var all bytes.Buffer
	for user, paths := range map[string][]string{
		"alice": {"/catalog", "/catalog/cohort-count-smk", "/runs", "/runs/" + r.ID, "/runs/" + r.ID + "/status", "/runs/x", "/runs/" + r.ID + "/ro-crate"},
		"carol": {"/review", "/review/" + r.ID, "/runs/" + r.ID},
		"root":  {"/audit", "/audit?since=bad"},
	} {
		for _, p := range paths {
			all.WriteString(h.browser(user).get(p).body)
		}
	}
	all.WriteString(h.browser("alice").post("/catalog/cohort-count-smk/run", url.Values{"param.cohort": {h.dataDir}}, true).body)
	if strings.Contains(all.String(), h.dataDir) {
		t.Errorf("a page shows the data directory %s", h.dataDir)
	}
}
