package runner_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

// TestZoneRefusedSubmissions: every way of asking the sealed zone for something it does
// not allow is refused with a 4xx that says why, names no path inside the zone, stores
// no run, and is on the audit trail with the actor and the reason.
func TestZoneRefusedSubmissions(t *testing.T) {
	z := newZone(t, writeTestZone(t))
	ok := `{"cohort": "cohort"}`
	tests := []struct {
		name   string
		user   string
		fields map[string]string
		files  map[string]string
		status int
		want   string // in the message
	}{
		{"attachment", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": ok},
			map[string]string{"Snakefile": "rule all:\n  shell: 'cat /etc/passwd'\n"}, 400, "workflow_attachment"},
		{"unknown workflow", "alice", map[string]string{"workflow_url": "no-such-wf", "workflow_params": ok}, nil, 403, "not one of the catalogue workflows"},
		{"remote URL", "alice", map[string]string{"workflow_url": "https://evil.example/wf.smk", "workflow_params": ok}, nil, 400, "workflow_url"},
		{"path as workflow", "alice", map[string]string{"workflow_url": "../../wf/leak/Snakefile", "workflow_params": ok}, nil, 400, "workflow_url"},
		{"workflow not allowed", "mallory", map[string]string{"workflow_url": "count-smk", "workflow_params": ok}, nil, 403, "not one of the catalogue workflows"},
		{"raw path as dataset", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": `{"cohort": "/etc/passwd"}`}, nil, 400, "workflow_params.cohort"},
		{"raw path param", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": `{"cohort": "cohort", "label": "/zone/data/secret.csv"}`}, nil, 400, "workflow_params.label"},
		{"dot-dot param", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": `{"cohort": "cohort", "label": "../../data/secret.csv"}`}, nil, 400, "workflow_params.label"},
		{"URL param", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": `{"cohort": "cohort", "label": "file:///etc/passwd"}`}, nil, 400, "workflow_params.label"},
		{"unknown param", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": `{"cohort": "cohort", "extra": "x"}`}, nil, 400, "extra"},
		{"dataset not allowed", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": `{"cohort": "secret"}`}, nil, 403, `dataset "secret"`},
		{"dataset unknown", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": `{"cohort": "nope"}`}, nil, 403, `dataset "nope"`},
		{"fixed engine param", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": ok, "workflow_engine_parameters": `{"cores": "2"}`}, nil, 400, "cores is fixed"},
		{"engine param not allowed", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": ok, "workflow_engine_parameters": `{"restart-times": "3"}`}, nil, 400, "not allowed"},
		{"engine param bad value", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": ok, "workflow_engine_parameters": `{"latency-wait": "soon"}`}, nil, 400, "latency-wait"},
		{"wrong workflow type", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": ok, "workflow_type": "CWL"}, nil, 400, "workflow_type"},
		{"tag with a path", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": ok, "tags": `{"input": "/zone/data/cohort.csv"}`}, nil, 400, "tags.input"},
		{"tag with a URL", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": ok, "tags": `{"src": "s3://bucket/x"}`}, nil, 400, "tags.src"},
		{"tag with dot-dot", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": ok, "tags": `{"src": "a/../../b"}`}, nil, 400, "tags.src"},
		{"tag too long", "alice", map[string]string{"workflow_url": "count-smk", "workflow_params": ok, "tags": `{"blob": "` + strings.Repeat("A", 300) + `"}`}, nil, 400, "tags.blob"},
		{"data controller submits", "carol", map[string]string{"workflow_url": "count-smk", "workflow_params": ok}, nil, 403, "researcher"},
	}
	refusals := map[string]int{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, b := z.post(tt.user, tt.fields, tt.files)
			var e api.ErrorResponse
			if err := json.Unmarshal(b, &e); err != nil || st != tt.status || int(e.StatusCode) != st || !strings.Contains(e.Msg, tt.want) {
				t.Fatalf("%d %s; want %d with %q", st, b, tt.status, tt.want)
			}
			refusals[tt.user]++
		})
	}
	if runs, _ := os.ReadDir(filepath.Join(z.dataDir, "runs")); len(runs) != 0 {
		t.Errorf("refused runs left %d directories", len(runs))
	}
	got := map[string]int{}
	for _, e := range z.events("") {
		if e.Action != "run.refuse" || e.Outcome != "refused" || e.Reason == "" {
			t.Errorf("unexpected audit event %+v", e)
			continue
		}
		got[e.Actor]++
		if strings.Contains(e.Reason, "dataset \"secret\"") && (e.Workflow != "count-smk" || e.Detail["cause"] != "not_allowed") {
			t.Errorf("dataset refusal event: %+v", e)
		}
		if strings.Contains(e.Reason, "no-such-wf") && e.Detail["cause"] != "unknown" {
			t.Errorf("unknown workflow event: %+v", e)
		}
	}
	for u, n := range refusals {
		if got[u] != n {
			t.Errorf("%s: %d refusals audited, want %d", u, got[u], n)
		}
	}
}

// TestZoneLeakyWorkflow runs a hostile workflow: its dataset echoed to stderr, a symlink
// and a hard link to the dataset, an oversized file and one off the allow-list in its
// results. Only the allow-listed result leaves, each refusal is audited, and the
// researcher cannot read the engine's output.
func TestZoneLeakyWorkflow(t *testing.T) {
	z := newZone(t, writeTestZone(t))
	id := z.submit("alice", "leak-smk", `{"cohort": "leakdata"}`)
	run := z.run(id)
	if run.State != wes.StateComplete {
		t.Fatalf("run ended %s: %v", run.State, run.Log.SystemLogs)
	}
	var outs api.RunOutputList
	z.getJSON("/runs/"+id+"/outputs", "alice", &outs)
	if len(outs.Outputs) != 1 || outs.Outputs[0].Path != "results/summary.csv" {
		t.Fatalf("outputs: %+v", outs)
	}
	var rl api.RunLog
	z.getJSON("/runs/"+id, "alice", &rl)
	if len(rl.Outputs) != 1 || !strings.Contains(strings.Join(rl.RunLog.SystemLogs, "\n"), "3 other file(s) stayed in the zone") {
		t.Errorf("run log: outputs %v system logs %v", rl.Outputs, rl.RunLog.SystemLogs)
	}
	evs := z.events(id)
	for path, kind := range map[string]string{"results/link.csv": egress.RefuseSymlink, "results/hard.csv": egress.RefuseHardLink,
		"results/big.csv": egress.RefuseFileTooLarge, "results/notes.txt": egress.RefuseNotAllowed} {
		e, ok := findEvent(evs, "egress.refuse", path)
		if !ok || e.Detail["kind"] != kind || e.Outcome != "refused" || e.Actor != "system" || e.Workflow != "leak-smk" || e.Dataset != "leakdata" {
			t.Errorf("refusal of %s: %+v (found %v)", path, e, ok)
		}
	}
	for _, p := range []string{"results%2Flink.csv", "results%2Fhard.csv", "results%2Fbig.csv", "results/notes.txt"} {
		if st, _, _ := z.do(http.MethodGet, "/runs/"+id+"/outputs/"+p, "alice", "", nil); st != http.StatusNotFound {
			t.Errorf("download %s: %d", p, st)
		}
	}
	for _, stream := range []string{"stdout", "stderr"} {
		st, b, _ := z.do(http.MethodGet, "/runs/"+id+"/logs/"+stream, "alice", "", nil)
		if st != http.StatusForbidden || !strings.Contains(string(b), "only to administrators and data controllers") {
			t.Errorf("researcher reads %s: %d %s", stream, st, b)
		}
	}
	z.allowAll = true
	st, b, _ := z.do(http.MethodGet, "/runs/"+id+"/logs/stderr", "carol", "", nil)
	z.allowAll = false
	if st != http.StatusOK || !strings.Contains(string(b), "SECRET-MARKER-4711") {
		t.Errorf("data controller reads stderr: %d %q (the workflow echoed its data there)", st, b)
	}
}
