package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/nextflow"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
)

// slowSnakemake is a `snakemake` whose --version blocks until release is created, as
// on the loaded machine of the issue, then prints a version.
func slowSnakemake(t *testing.T) (bin, release string) {
	t.Helper()
	dir := t.TempDir()
	bin, release = filepath.Join(dir, "snakemake"), filepath.Join(dir, "release")
	script := "#!/bin/sh\nwhile [ ! -e \"" + release + "\" ]; do sleep 0.02; done\necho 7.32.4\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, release
}

// watchEngines returns a registry of a slow snakemake, cwltool, the test engine and a
// nextflow whose configured version has no program behind it, with Watch started;
// release lets snakemake answer and ready closes once it has.
func watchEngines(t *testing.T) (reg *engines.Registry, release string, ready <-chan struct{}) {
	t.Helper()
	bin, release := slowSnakemake(t)
	reg = engines.NewRegistry(snakemake.New(snakemake.Config{Binary: bin}, nil),
		cwl.New(cwl.Config{Versions: []string{"3.1.20230209161050"}}, nil), testEngine{"tester"},
		nextflow.New(nextflow.Config{Versions: []string{"24.10.0"}}, nil))
	reg.SetProbes(map[string]engines.Probe{nextflow.Name: {Binary: filepath.Join(t.TempDir(), "nextflow")}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, done := reg.Watch(ctx, nil, engines.WatchConfig{})
	t.Cleanup(func() { cancel(); <-done })
	return reg, release, reg.ReadyC(snakemake.Name)
}

func releaseEngine(t *testing.T, release string, done <-chan struct{}) {
	t.Helper()
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("snakemake was not discovered within 30s of answering")
	}
}

func smkRun() []part {
	return []part{field("workflow_type", "SMK"), field("workflow_type_version", "1.0"),
		field("workflow_url", "Snakefile"), file("Snakefile", "rule all:\n    shell: \"true\"\n")}
}

// wantUnavailable checks a 503 with a Retry-After of whole seconds.
func wantUnavailable(t *testing.T, st int, b []byte, hdr http.Header, msgPart string) {
	t.Helper()
	msg := errorBody(t, st, b).Msg
	if st != http.StatusServiceUnavailable || !strings.Contains(msg, msgPart) {
		t.Fatalf("status %d %s; want 503 saying %q", st, b, msgPart)
	}
	if n, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || n < 1 || n > 300 {
		t.Errorf("Retry-After = %q", hdr.Get("Retry-After"))
	}
}

// While snakemake's version is still being discovered, its runs get 503 with a
// Retry-After (not the 400 of the issue) and service-info does not list it; an engine
// whose program is absent is never listed and its runs get a 400 naming what is
// installed. Once snakemake answers, it is offered without a restart.
func TestEngineNotReadyIs503AndAbsentIs400(t *testing.T) {
	reg, release, done := watchEngines(t)
	h := newHarness(t, func(_ *testConfig, d *testDeps) { d.Engines = reg })

	engineVersions := func() map[string]api.WorkflowEngineVersion {
		t.Helper()
		res, err := h.client.GetServiceInfoWithResponse(context.Background())
		if err != nil || res.JSON200 == nil {
			t.Fatalf("service-info: %v %s", err, res.Body)
		}
		return res.JSON200.WorkflowEngineVersions
	}
	ev := engineVersions()
	if _, ok := ev[snakemake.Name]; ok {
		t.Errorf("service-info lists snakemake before its version is known: %v", ev)
	}
	if _, ok := ev[nextflow.Name]; ok {
		t.Errorf("service-info lists nextflow, which is not installed: %v", ev)
	}
	if len(ev["tester"].WorkflowEngineVersion) == 0 || len(ev[cwl.Name].WorkflowEngineVersion) == 0 {
		t.Errorf("service-info lost the ready engines: %v", ev)
	}

	ct, body := form(t, smkRun()...)
	st, b, hdr := h.do(http.MethodPost, BasePath+"/runs", "alice", ct, body)
	wantUnavailable(t, st, b, hdr, "snakemake is not ready on this server yet")
	if !strings.Contains(h.logs.String(), "backend unavailable") {
		t.Errorf("the refused run is not logged:\n%s", h.logs)
	}

	ct, body = form(t, field("workflow_type", "NFL"), field("workflow_type_version", "DSL2"),
		field("workflow_url", "main.nf"), file("main.nf", "workflow {}\n"))
	st, b, _ = h.do(http.MethodPost, BasePath+"/runs", "alice", ct, body)
	if msg := errorBody(t, st, b).Msg; st != http.StatusBadRequest || !strings.Contains(msg, "nextflow is not installed on this server") ||
		!strings.Contains(msg, "tester 1.2, 1.10 (TST)") || strings.Contains(msg, "nextflow 24.10.0") {
		t.Errorf("run for an absent engine: %d %s", st, b)
	}
	if len(h.runDirs()) != 0 {
		t.Errorf("refused runs left files: %v", h.runDirs())
	}

	releaseEngine(t, release, done)
	if got := engineVersions()[snakemake.Name].WorkflowEngineVersion; len(got) != 1 || got[0] != "7.32.4" {
		t.Errorf("snakemake versions after discovery = %v", got)
	}
	h.submit("alice", smkRun()...)
}

// In a sealed zone the catalogue offers a workflow only once its engine answers, and a
// run of it meanwhile gets 503 with a Retry-After.
func TestSealedEngineNotReady(t *testing.T) {
	reg, release, done := watchEngines(t)
	h := newSealedHarness(t, func(_ *testConfig, d *testDeps) { d.Engines = reg })

	listed := func() map[string]bool {
		t.Helper()
		st, b, _ := h.do(http.MethodGet, BasePath+"/catalog/workflows", "alice", "", nil)
		var l api.CatalogWorkflowList
		if st != http.StatusOK || json.Unmarshal(b, &l) != nil {
			t.Fatalf("catalogue: %d %s", st, b)
		}
		out := map[string]bool{}
		for _, w := range l.Workflows {
			out[w.Id] = true
		}
		return out
	}
	if got := listed(); got["cohort-count-smk"] || !got["cohort-count-cwl"] {
		t.Errorf("catalogue while snakemake is being checked = %v", got)
	}
	types := func() (map[string]api.WorkflowTypeVersion, map[string]api.WorkflowEngineVersion) {
		t.Helper()
		res, err := h.client.GetServiceInfoWithResponse(context.Background())
		if err != nil || res.JSON200 == nil {
			t.Fatalf("service-info: %v %s", err, res.Body)
		}
		return res.JSON200.WorkflowTypeVersions, res.JSON200.WorkflowEngineVersions
	}
	if tv, ev := types(); len(tv["SMK"].WorkflowTypeVersion) != 0 || len(ev[snakemake.Name].WorkflowEngineVersion) != 0 ||
		len(tv["CWL"].WorkflowTypeVersion) == 0 {
		t.Errorf("sealed service-info while snakemake is being checked: %v %v", tv, ev)
	}
	ct, body := form(t, field("workflow_url", "cohort-count-smk"), field("workflow_params", `{"cohort": "cohort-demo"}`))
	st, b, hdr := h.do(http.MethodPost, BasePath+"/runs", "alice", ct, body)
	wantUnavailable(t, st, b, hdr, "cannot run right now")

	releaseEngine(t, release, done)
	if got := listed(); !got["cohort-count-smk"] {
		t.Errorf("catalogue after discovery = %v", got)
	}
	if tv, ev := types(); len(tv["SMK"].WorkflowTypeVersion) == 0 || len(ev[snakemake.Name].WorkflowEngineVersion) == 0 {
		t.Errorf("sealed service-info after discovery: %v %v", tv, ev)
	}
}
