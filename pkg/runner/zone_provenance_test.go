package runner_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// TestZoneProvenance: a run's provenance is what ran, not what was asked for: the
// catalogue reloaded between submission and start with a new version of the entry shows
// in the run's provenance as the version staged, with the sha256 of every file, the
// engine version the job was prepared for and the executor; the run's RO-Crate, once an
// output is released, names them, the engine's steps and the released output, and no
// zone path (z.do refuses any answer holding one).
func TestZoneProvenance(t *testing.T) {
	catPath := writeTestZone(t)
	z := newZone(t, catPath)
	id := z.submit("alice", "count-review", `{"cohort": "cohort", "group_by": "sex"}`)
	if p := z.get(id).Provenance; p == nil || p.WorkflowVersion != "1" || !p.Staged.IsZero() {
		t.Fatalf("provenance at submission: %+v", p)
	}
	y, err := os.ReadFile(catPath)
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(string(y), "name: Count, reviewed\n    version: \"1\"", "name: Count, reviewed\n    version: \"2\"", 1)
	if next == string(y) {
		t.Fatal("the test catalogue changed; update this test")
	}
	if err := os.WriteFile(catPath, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := z.holder.Reload(); err != nil {
		t.Fatal(err)
	}

	run := z.run(id)
	if run.State != wes.StateComplete {
		t.Fatalf("run %s: %v", run.State, run.Log.SystemLogs)
	}
	p := run.Provenance
	wantFiles := []wes.ProvenanceFile{
		{Path: "Snakefile", SHA256: sha256Hex([]byte(readFile(t, filepath.Join(z.zoneDir, "wf/count/Snakefile"))))},
		{Path: "scripts/summarise.py", SHA256: sha256Hex([]byte(readFile(t, filepath.Join(z.zoneDir, "wf/count/scripts/summarise.py"))))}}
	if p == nil || p.WorkflowVersion != "2" || p.Staged.IsZero() || !slices.Equal(p.Files, wantFiles) ||
		p.Engine != "snakemake" || p.EngineVersion == "" || p.EngineVersion != run.EngineVer || p.Executor != "local" || p.Image != "" ||
		len(p.Datasets) != 1 || p.Datasets[0].ID != "cohort" {
		t.Fatalf("provenance after the start: %+v", p)
	}
	if st, b := z.review(id, "carol", `{"decision": "approve"}`); st != http.StatusOK {
		t.Fatalf("approve: %d %s", st, b)
	}

	st, b, hdr := z.do(http.MethodGet, "/runs/"+id+"/ro-crate", "alice", "", nil)
	if st != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/ld+json") {
		t.Fatalf("ro-crate: %d %s", st, b)
	}
	var doc struct {
		Graph []map[string]any `json:"@graph"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	byID := map[string]map[string]any{}
	steps := 0
	for _, e := range doc.Graph {
		byID[e["@id"].(string)] = e
		if e["@type"] == "HowToStep" {
			steps++
		}
	}
	wf := byID["workflow/Snakefile"]
	if wf == nil || wf["version"] != "2" || wf["sha256"] != wantFiles[0].SHA256 || byID["workflow/scripts/summarise.py"]["sha256"] != wantFiles[1].SHA256 {
		t.Errorf("workflow in the crate: %v", wf)
	}
	if out := byID["outputs/results/summary.csv"]; out == nil || out["sha256"] != z.get(id).Released[0].SHA256 {
		t.Errorf("released output in the crate: %v", out)
	}
	if eng := byID["#engine"]; eng == nil || eng["softwareVersion"] != p.EngineVersion {
		t.Errorf("engine in the crate: %v", eng)
	}
	if steps == 0 {
		t.Errorf("the crate lists none of the engine's steps: %s", b)
	}
}
