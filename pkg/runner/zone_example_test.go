package runner_test

import (
	"bytes"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

const exampleCatalog = "../../examples/catalog/catalog.yaml"

// TestZoneExampleSnakemake is the sealed zone end to end on the shipped example
// catalogue: a researcher lists the catalogue, runs the Snakemake workflow on the example
// dataset by id, sees only the allow-listed result among the outputs, downloads it
// (sha256 checked), cannot read the engine's logs, and deletes the run; every step is on
// the audit trail, and no answer names a path inside the zone.
func TestZoneExampleSnakemake(t *testing.T) {
	z := newZone(t, exampleCatalog)

	var si api.ServiceInfo
	z.getJSON("/service-info", "alice", &si)
	if len(si.WorkflowTypeVersions) != 2 || si.WorkflowTypeVersions["SMK"].WorkflowTypeVersion[0] != "1.0" ||
		si.Tags["mode"] != "sealed" || si.Tags["workflow_attachments"] != "refused" {
		t.Errorf("service-info: types %v tags %v", si.WorkflowTypeVersions, si.Tags)
	}
	var wfs api.CatalogWorkflowList
	z.getJSON("/catalog/workflows", "alice", &wfs)
	if len(wfs.Workflows) != 2 || wfs.Workflows[1].Id != "cohort-count-smk" || wfs.Workflows[1].Egress != "auto" ||
		!slices.Equal(wfs.Workflows[1].DatasetParams, []string{"cohort"}) || wfs.Workflows[1].ParamsSchema["type"] != "object" {
		t.Errorf("catalogue: %+v", wfs)
	}
	var dss api.CatalogDatasetList
	z.getJSON("/catalog/datasets", "alice", &dss)
	if len(dss.Datasets) != 1 || dss.Datasets[0].Id != "cohort-demo" {
		t.Errorf("datasets: %+v", dss)
	}

	id := z.submit("alice", "cohort-count-smk", `{"cohort": "cohort-demo", "group_by": "site", "min_count": 5}`,
		"tags", `{"project": "demo"}`)
	stored := z.get(id)
	if stored.Workflow != "cohort-count-smk" || !slices.Equal(stored.Datasets, []string{"cohort-demo"}) ||
		!strings.Contains(string(stored.Request.WorkflowParams), `"cohort-demo"`) ||
		stored.Request.WorkflowEngineParameters["cores"] != "1" || stored.Request.WorkflowType != "SMK" {
		t.Fatalf("stored run: workflow %q datasets %v request %+v", stored.Workflow, stored.Datasets, stored.Request)
	}
	run := z.run(id)
	if run.State != wes.StateComplete {
		t.Fatalf("run ended %s: %v", run.State, run.Log.SystemLogs)
	}
	// The stored request still has the client's dataset id, not the path the engine read.
	if !strings.Contains(string(run.Request.WorkflowParams), `"cohort-demo"`) || strings.Contains(string(run.Request.WorkflowParams), "/") {
		t.Errorf("stored params changed: %s", run.Request.WorkflowParams)
	}

	var rl api.RunLog
	z.getJSON("/runs/"+id, "alice", &rl)
	if len(rl.Outputs) != 1 || rl.Outputs["results/summary.csv"] == nil {
		t.Fatalf("RunLog.outputs: %v", rl.Outputs)
	}
	if rl.RunLog.Stdout != "" || rl.RunLog.Stderr != "" || len(rl.RunLog.Cmd) != 0 || rl.Request.Tags["project"] != "demo" {
		t.Errorf("researcher's run log: %+v tags %v", rl.RunLog, rl.Request.Tags)
	}
	var asAdmin api.RunLog
	z.getJSON("/runs/"+id, "admin", &asAdmin)
	if asAdmin.RunLog.Stderr == "" || len(asAdmin.Request.Tags) != 0 {
		t.Errorf("admin's run log: stderr %q tags %v (tags are the owner's)", asAdmin.RunLog.Stderr, asAdmin.Request.Tags)
	}

	var outs api.RunOutputList
	z.getJSON("/runs/"+id+"/outputs", "alice", &outs)
	if len(outs.Outputs) != 1 || outs.Outputs[0].Path != "results/summary.csv" || outs.Outputs[0].Status != "released" ||
		outs.Outputs[0].Url == "" || outs.Egress != "auto" {
		t.Fatalf("outputs: %+v", outs)
	}
	o := outs.Outputs[0]
	st, body, hdr := z.do(http.MethodGet, o.Url, "alice", "", nil)
	if st != http.StatusOK || sha256Hex(body) != o.Sha256 || hdr.Get("X-Enclave-SHA256") != o.Sha256 ||
		!bytes.HasPrefix(body, []byte("site,count")) || !strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %q sha %s/%s headers %v", st, body, sha256Hex(body), o.Sha256, hdr)
	}
	// The same output with plain slashes in the path; another researcher gets nothing.
	if st, b, _ := z.do(http.MethodGet, "/runs/"+id+"/outputs/results/summary.csv", "alice", "", nil); st != http.StatusOK || !bytes.Equal(b, body) {
		t.Errorf("download with plain slashes: %d %s", st, b)
	}
	if st, _, _ := z.do(http.MethodGet, o.Url, "bob", "", nil); st != http.StatusNotFound {
		t.Errorf("bob downloads alice's output: %d", st)
	}
	for _, p := range []string{"work%2Fraw_copy.csv", "Snakefile", ".enclave%2Fparams.json"} {
		if st, _, _ := z.do(http.MethodGet, "/runs/"+id+"/outputs/"+p, "alice", "", nil); st != http.StatusNotFound {
			t.Errorf("download of unreleased %s: %d", p, st)
		}
	}

	// logs: admin → researchers see no engine output, with a clear reason.
	st, b, _ := z.do(http.MethodGet, "/runs/"+id+"/logs/stderr", "alice", "", nil)
	if st != http.StatusForbidden || !strings.Contains(string(b), "system_logs") {
		t.Errorf("researcher reads stderr: %d %s", st, b)
	}
	var tasks api.TaskListResponse
	z.getJSON("/runs/"+id+"/tasks", "alice", &tasks)
	if len(tasks.TaskLogs) == 0 || slices.ContainsFunc(tasks.TaskLogs, func(t api.TaskLog) bool { return len(t.Cmd) > 0 }) {
		t.Errorf("researcher's tasks: %+v", tasks)
	}
	z.allowAll = true // the admin may read the engine's output, paths and all
	if st, _, _ := z.do(http.MethodGet, "/runs/"+id+"/logs/stderr", "admin", "", nil); st != http.StatusOK {
		t.Errorf("admin reads stderr: %d", st)
	}
	z.allowAll = false

	evs := z.events(id)
	for _, want := range []struct{ action, path string }{
		{"run.submit", ""}, {"run.state", ""}, {"egress.release", "results/summary.csv"},
		{"egress.refuse", "work/raw_copy.csv"}, {"egress.refuse", "Snakefile"}, {"output.download", "results/summary.csv"},
	} {
		if _, ok := findEvent(evs, want.action, want.path); !ok {
			t.Errorf("no %s %s event in %+v", want.action, want.path, evs)
		}
	}
	if e, _ := findEvent(evs, "run.submit", ""); e.Actor != "alice" || e.Workflow != "cohort-count-smk" || e.Dataset != "cohort-demo" {
		t.Errorf("submit event: %+v", e)
	}
	var page api.AuditPage
	if st, _, _ := z.do(http.MethodGet, "/audit?run_id="+id, "alice", "", nil); st != http.StatusForbidden {
		t.Errorf("researcher reads the audit trail: %d", st)
	}
	z.getJSON("/audit?run_id="+id+"&action=egress.*", "admin", &page)
	if len(page.Entries) < 3 || !strings.HasPrefix(page.Entries[0].Event.Action, "egress.") {
		t.Errorf("audit query: %+v", page)
	}
	st, b, hdr = z.do(http.MethodGet, "/audit/export", "admin", "", nil)
	if st != http.StatusOK || hdr.Get("Content-Type") != "application/x-ndjson" || bytes.Count(b, []byte("\n")) < len(evs) {
		t.Errorf("export: %d %s, %d lines", st, hdr.Get("Content-Type"), bytes.Count(b, []byte("\n")))
	}

	// DELETE: work dir, logs and objects go; the record and the audit trail stay.
	if st, _, _ := z.do(http.MethodDelete, "/runs/"+id, "bob", "", nil); st != http.StatusNotFound {
		t.Errorf("bob deletes alice's run: %d", st)
	}
	if st, b, _ := z.do(http.MethodDelete, "/runs/"+id, "alice", "", nil); st != http.StatusOK {
		t.Fatalf("delete: %d %s", st, b)
	}
	if _, err := os.Stat(run.WorkDir); !os.IsNotExist(err) {
		t.Errorf("work dir still there: %v", err)
	}
	if st, _, _ := z.do(http.MethodGet, "/runs/"+id+"/outputs/results%2Fsummary.csv", "alice", "", nil); st != http.StatusNotFound {
		t.Errorf("download after delete: %d", st)
	}
	if _, _, err := z.results.Get(t.Context(), egress.KeyPrefix("alice", id)+"results/summary.csv"); !wes.IsCode(err, wes.ENOTFOUND) {
		t.Errorf("object still stored: %v", err)
	}
	after := z.events(id)
	if len(after) <= len(evs) {
		t.Errorf("audit trail after delete: %d events, before %d", len(after), len(evs))
	}
	if _, ok := findEvent(after, "run.delete", ""); !ok {
		t.Errorf("no run.delete event")
	}
	rep, err := z.audit.Verify(t.Context())
	if err != nil || !rep.OK {
		t.Errorf("audit chain: %+v %v", rep, err)
	}
}

// TestZoneExampleCWLReview runs the example CWL workflow, whose outputs wait for review:
// cwltool moves every output to outputs/, but only outputs/summary.csv is held, and an
// administrator's approval releases it.
func TestZoneExampleCWLReview(t *testing.T) {
	z := newZone(t, exampleCatalog)
	id := z.submit("alice", "cohort-count-cwl", `{"cohort": "cohort-demo", "group_by": "age_band"}`)
	run := z.run(id)
	if run.State != wes.StateComplete || len(run.Released) != 1 || run.Released[0].Path != "outputs/summary.csv" ||
		run.Released[0].Status != wes.OutputPending {
		t.Fatalf("run: %s %+v %v", run.State, run.Released, run.Log.SystemLogs)
	}
	if _, ok := findEvent(z.events(id), "egress.refuse", "outputs/raw_copy.csv"); !ok {
		t.Errorf("the row-level copy was not refused")
	}
	st, b, _ := z.do(http.MethodPost, "/runs/"+id+"/outputs/review", "admin", "application/json",
		strings.NewReader(`{"decision": "approve"}`))
	if st != http.StatusOK {
		t.Fatalf("approve: %d %s", st, b)
	}
	var rl api.RunLog
	z.getJSON("/runs/"+id, "alice", &rl)
	out, _ := rl.Outputs["outputs/summary.csv"].(map[string]any)
	if len(rl.Outputs) != 1 || out["sha256"] != run.Released[0].SHA256 || out["url"] == nil {
		t.Fatalf("outputs after approval: %v", rl.Outputs)
	}
	st, body, _ := z.do(http.MethodGet, out["url"].(string), "alice", "", nil)
	if st != http.StatusOK || !bytes.HasPrefix(body, []byte("age_band,count")) {
		t.Errorf("download: %d %q", st, body)
	}
}
