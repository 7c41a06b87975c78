package portal

import (
	"net/http"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/runs"
)

func auditQuery(runID string) runs.AuditQuery { return runs.AuditQuery{RunID: runID, Limit: 100} }

func TestAuditPage(t *testing.T) {
	h := newHarness(t, nil)
	r := h.createRun("alice", nil)
	alice := h.browser("alice")
	alice.get("/runs/" + r.ID + "/ro-crate")
	root := h.browser("root")
	pg := root.get("/audit?run_id=" + r.ID)
	mustContain(t, "audit page", pg.body, "run.ro_crate", `<label for="run_id">Run id</label>`, `value="`+r.ID+`"`, "Export the whole trail")
	if other := root.get("/audit?actor=nobody"); strings.Contains(other.body, "run.ro_crate") {
		t.Error("the actor filter is ignored")
	}
	bad := root.get("/audit?since=yesterday")
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "since must be an RFC 3339 time") {
		t.Errorf("bad since: %d", bad.status)
	}
	exp := root.get("/audit/export")
	if exp.status != 200 || !strings.Contains(exp.body, `"action":"run.ro_crate"`) || !strings.HasPrefix(exp.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("export: %d %v", exp.status, exp.header)
	}
	if pg := alice.get("/audit/export"); pg.status != http.StatusForbidden {
		t.Errorf("alice export: %d, want 403", pg.status)
	}
}
