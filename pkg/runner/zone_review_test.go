package runner_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

// review posts a review decision as user and returns status and body.
func (z *zone) review(id, user, body string) (int, []byte) {
	z.t.Helper()
	st, b, _ := z.do(http.MethodPost, "/runs/"+id+"/outputs/review", user, "application/json", strings.NewReader(body))
	return st, b
}

// TestZoneReview: a review-mode workflow's outputs wait as pending; researchers can
// neither download nor approve them; a data controller rejects (with a reason the owner
// reads) or approves (released after their sha256 is checked again); an output changed
// after the run is withheld on approval. Every decision and file is audited.
func TestZoneReview(t *testing.T) {
	z := newZone(t, writeTestZone(t))
	params := `{"cohort": "cohort", "group_by": "sex"}`
	ids := []string{z.submit("alice", "count-review", params), z.submit("alice", "count-review", params), z.submit("alice", "count-review", params)}
	for _, id := range ids {
		if run := z.run(id); run.State != wes.StateComplete || len(run.Released) != 1 || run.Released[0].Status != wes.OutputPending {
			t.Fatalf("run %s: %s released %+v logs %v", id, run.State, run.Released, run.Log.SystemLogs)
		}
	}
	rejected, approved, tampered := ids[0], ids[1], ids[2]

	var rl api.RunLog
	z.getJSON("/runs/"+rejected, "alice", &rl)
	if pending, _ := rl.Outputs["results/summary.csv"].(map[string]any); len(rl.Outputs) != 1 || pending["status"] != "pending" || pending["url"] != nil {
		t.Errorf("RunLog.outputs while pending: %v", rl.Outputs)
	}
	if rl.RunLog.Stderr == "" { // logs: owner
		t.Errorf("the owner gets no stderr link under a logs: owner policy")
	}
	if st, _, _ := z.do(http.MethodGet, "/runs/"+rejected+"/outputs/results%2Fsummary.csv", "alice", "", nil); st != http.StatusConflict {
		t.Errorf("download while pending: %d", st)
	}
	for _, tt := range []struct {
		user, body string
		status     int
	}{
		{"alice", `{"decision": "approve"}`, 403},
		{"bob", `{"decision": "approve"}`, 404},
		{"carol", `{"decision": "reject"}`, 400},
		{"carol", `{"decision": "maybe"}`, 400},
		{"carol", `not json`, 400},
	} {
		if st, b := z.review(rejected, tt.user, tt.body); st != tt.status {
			t.Errorf("review %s as %s: %d %s, want %d", tt.body, tt.user, st, b, tt.status)
		}
	}

	if st, b := z.review(rejected, "carol", `{"decision": "reject", "reason": "groups too small to release"}`); st != http.StatusOK ||
		!strings.Contains(string(b), `"status":"rejected"`) {
		t.Fatalf("reject: %d %s", st, b)
	}
	if st, _ := z.review(rejected, "carol", `{"decision": "approve"}`); st != http.StatusConflict {
		t.Errorf("a second decision: %d", st)
	}
	z.getJSON("/runs/"+rejected, "alice", &rl)
	if !strings.Contains(strings.Join(rl.RunLog.SystemLogs, "\n"), "groups too small to release") {
		t.Errorf("the owner does not see the reason: %v", rl.RunLog.SystemLogs)
	}
	if e, ok := findEvent(z.events(rejected), "egress.reject", "results/summary.csv"); !ok || e.Actor != "carol" || !strings.Contains(e.Reason, "groups too small") {
		t.Errorf("reject event: %+v", e)
	}

	var outs api.RunOutputList
	st, b := z.review(approved, "carol", `{"decision": "approve", "reason": "checked"}`)
	if st != http.StatusOK {
		t.Fatalf("approve: %d %s", st, b)
	}
	z.getJSON("/runs/"+approved+"/outputs", "alice", &outs)
	if len(outs.Outputs) != 1 || outs.Outputs[0].Status != "released" || outs.Egress != "review" {
		t.Fatalf("after approval: %+v", outs)
	}
	st, body, _ := z.do(http.MethodGet, outs.Outputs[0].Url, "alice", "", nil)
	if st != http.StatusOK || sha256Hex(body) != z.get(approved).Released[0].SHA256 || !strings.HasPrefix(string(body), "sex,count") {
		t.Errorf("download after approval: %d %q", st, body)
	}
	evs := z.events(approved)
	if e, ok := findEvent(evs, "egress.release", "results/summary.csv"); !ok || e.Actor != "carol" {
		t.Errorf("release event: %+v", e)
	}
	if e, ok := findEvent(evs, "output.review", ""); !ok || e.Detail["decision"] != "approve" || e.Reason != "checked" {
		t.Errorf("review event: %+v", e)
	}

	// An output changed after the run ended is withheld, not released.
	f, err := os.OpenFile(filepath.Join(z.get(tampered).WorkDir, "results", "summary.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("F,1\n")
	f.Close()
	if st, b := z.review(tampered, "carol", `{"decision": "approve"}`); st != http.StatusOK || !strings.Contains(string(b), `"status":"rejected"`) {
		t.Errorf("approving a changed output: %d %s", st, b)
	}
	if e, ok := findEvent(z.events(tampered), "egress.refuse", "results/summary.csv"); !ok || e.Actor != "carol" || e.Detail["kind"] != egress.RefuseChanged {
		t.Errorf("refusal of the changed output: %+v", e)
	}
	if _, _, err := z.results.Get(t.Context(), egress.KeyPrefix("alice", tampered)+"results/summary.csv"); !wes.IsCode(err, wes.ENOTFOUND) {
		t.Errorf("the changed output was stored: %v", err)
	}
}

// TestZoneSystemErrors: an upload that fails ends the run in SYSTEM_ERROR with nothing
// released; a cancel is audited; workflow files changed after the catalogue was loaded
// stop the run before it starts.
func TestZoneSystemErrors(t *testing.T) {
	catalogPath := writeTestZone(t)
	z := newZone(t, catalogPath)
	ctx := context.Background()

	z.results.failPut = true
	id := z.submit("alice", "count-smk", `{"cohort": "cohort"}`)
	run := z.run(id)
	z.results.failPut = false
	if run.State != wes.StateSystemError || len(run.Released) != 0 || !strings.Contains(strings.Join(run.Log.SystemLogs, "\n"), "could not be uploaded") {
		t.Errorf("failed upload: %s %+v %v", run.State, run.Released, run.Log.SystemLogs)
	}
	if e, ok := findEvent(z.events(id), "egress.release", "results/summary.csv"); !ok || e.Outcome != "error" {
		t.Errorf("upload failure event: %+v", e)
	}
	var rl api.RunLog
	z.getJSON("/runs/"+id, "alice", &rl)
	if len(rl.Outputs) != 0 {
		t.Errorf("outputs of a failed run: %v", rl.Outputs)
	}

	id = z.submit("alice", "count-smk", `{"cohort": "cohort"}`)
	if st, b, _ := z.do(http.MethodPost, "/runs/"+id+"/cancel", "alice", "", nil); st != http.StatusOK {
		t.Fatalf("cancel: %d %s", st, b)
	}
	if err := z.r.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	evs := z.events(id)
	if e, ok := findEvent(evs, "run.cancel", ""); !ok || e.Actor != "alice" {
		t.Errorf("cancel event: %+v", e)
	}
	if e, ok := findEvent(evs, "run.state", ""); !ok || e.Detail["state"] != "CANCELED" {
		t.Errorf("state event: %+v", e)
	}
	if st, _, _ := z.do(http.MethodDelete, "/runs/"+id, "carol", "", nil); st != http.StatusForbidden {
		t.Errorf("a data controller deletes a run: %d", st)
	}

	id = z.submit("alice", "count-smk", `{"cohort": "cohort"}`)
	script := filepath.Join(filepath.Dir(catalogPath), "wf", "count", "scripts", "summarise.py")
	f, err := os.OpenFile(script, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("\nimport os; os.system('cat /etc/shadow')\n")
	f.Close()
	if err := z.r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	run = z.get(id)
	if run.State != wes.StateSystemError || run.Handle != nil || !strings.Contains(strings.Join(run.Log.SystemLogs, "\n"), "workflow files changed since validation") {
		t.Errorf("changed workflow: %s handle %v %v", run.State, run.Handle, run.Log.SystemLogs)
	}
	e, ok := findEvent(z.events(id), "workflow.verify", "")
	if !ok || e.Outcome != "refused" || !strings.Contains(e.Detail["cause"], "scripts/summarise.py") {
		t.Errorf("verify event: %+v", e)
	}
	if _, err := os.Stat(filepath.Join(run.WorkDir, "scripts", "summarise.py")); !os.IsNotExist(err) {
		t.Errorf("the changed file was staged: %v", err)
	}
	z.getJSON("/runs/"+id, "alice", &rl) // and the owner's view names no zone path
}
