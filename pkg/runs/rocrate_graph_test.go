package runs

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// A run outside the catalogue (or stored before provenance) still makes a crate: its
// workflow is described, not claimed as a file of the crate, its outcome is a failure
// with the state, and its params and workflow_url stay out.
func TestCrateOfAnOpenFailedRun(t *testing.T) {
	r := &wes.Run{ID: "0190a6b4-0000-7000-8000-000000000001", Owner: "bob", State: wes.StateExecutorError,
		Engine: "snakemake", EngineVer: "7.21.0", Executor: "local",
		Request: wes.RunRequest{WorkflowType: "SMK", WorkflowURL: "/home/bob/secret-project/Snakefile",
			WorkflowParams: json.RawMessage(`{"sample": "S123"}`)}}
	g := buildCrate(r, "", nil, time.Now())
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"secret-project", "S123"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("the crate contains %q: %s", bad, b)
		}
	}
	byID := map[string]entity{}
	for _, e := range g["@graph"].([]entity) {
		byID[e["@id"].(string)] = e
	}
	wf := byID["#workflow"]
	if types, _ := wf["@type"].([]string); wf == nil || strings.Contains(strings.Join(types, ","), "File") {
		t.Errorf("workflow %v", wf)
	}
	if parts := byID["./"]["hasPart"].([]map[string]string); len(parts) != 0 {
		t.Errorf("root hasPart %v, want nothing", parts)
	}
	act := byID["#run-"+r.ID]
	if act["actionStatus"].(map[string]string)["@id"] != "http://schema.org/FailedActionStatus" || !strings.Contains(act["error"].(string), "EXECUTOR_ERROR") {
		t.Errorf("action %v", act)
	}
	if eng := byID["#engine"]; eng["softwareVersion"] != "7.21.0" {
		t.Errorf("engine %v", eng)
	}
}

func TestImageEntity(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for image, want := range map[string][4]string{
		"ubuntu:22.04":                        {"docker.io", "ubuntu", "22.04", ""},
		"localhost:5000/x/y":                  {"localhost:5000", "x/y", "", ""},
		"ghcr.io/a/b:1.2@sha256:" + sum:       {"ghcr.io", "a/b", "1.2", sum},
		"enclave/engines@sha256:" + sum:       {"docker.io", "enclave/engines", "", sum},
		"registry.example.org/enclave/engine": {"registry.example.org", "enclave/engine", "", ""},
	} {
		e := imageEntity("#image", image)
		tag, _ := e["tag"].(string)
		digest, _ := e["sha256"].(string)
		if got := [4]string{e["registry"].(string), e["name"].(string), tag, digest}; got != want {
			t.Errorf("%s: %v, want %v", image, got, want)
		}
	}
}

// BenchmarkBuildCrate: the crate of a run with 200 released outputs and 100 steps,
// written as the API sends it.
func BenchmarkBuildCrate(b *testing.B) {
	r := &wes.Run{ID: "0190a6b4-0000-7000-8000-000000000001", Owner: "alice", State: wes.StateComplete,
		Provenance: &wes.Provenance{Workflow: "wf", WorkflowVersion: "1", Main: "Snakefile", WorkflowType: "SMK",
			Files:  []wes.ProvenanceFile{{Path: "Snakefile", SHA256: strings.Repeat("a", 64)}},
			Engine: "snakemake", EngineVersion: "7.21.0", Executor: "docker", Image: "enclave/engines:1"}}
	for i := range 200 {
		r.Released = append(r.Released, wes.Output{Path: "results/t" + strconv.Itoa(i) + ".csv", Size: 1000,
			SHA256: strings.Repeat("b", 64), Status: wes.OutputReleased})
	}
	var tasks []wes.Task
	for range 100 {
		tasks = append(tasks, wes.Task{Name: "count", StartTime: time.Now(), EndTime: time.Now()})
	}
	b.ReportAllocs()
	size := 0
	for b.Loop() {
		out, err := json.MarshalIndent(buildCrate(r, "wf", tasks, time.Now()), "", "  ")
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "bytes/crate")
}
