package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// enclave run ro-crate against a whole real Enclave: a catalogue run executed by real
// Snakemake exports a crate naming the entry's version, its workflow files' sha256 as
// pinned, the engine the worker ran and the released output, to standard output or to
// -O FILE (kept unless --force); an unknown run is the server's 404 in words.
func TestRunROCrateAgainstRealServer(t *testing.T) {
	if _, err := os.Stat("/usr/bin/snakemake"); err != nil {
		t.Skip("SKIP: snakemake is not installed at /usr/bin/snakemake")
	}
	env := []string{"ENCLAVE_URL=" + startZone(t)}
	out, errOut, code := cli(t, env, "run", "submit", "--workflow-id", "cohort-count-smk", "--param", "cohort=cohort-demo", "--param", "group_by=age_band")
	if code != 0 {
		t.Fatalf("submit: exit %d, stderr %q", code, errOut)
	}
	id := strings.TrimSpace(out)
	if out, errOut, code := cli(t, env, "run", "wait", id, "--interval", "200ms", "--timeout", "3m"); code != 0 || !strings.Contains(out, "COMPLETE") {
		t.Fatalf("wait: exit %d, out %q, stderr %q", code, out, errOut)
	}
	out, _, code = cli(t, env, "run", "outputs", id, "-o", "json")
	var ol struct {
		Outputs []struct{ Path, Sha256 string } `json:"outputs"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &ol) != nil || len(ol.Outputs) != 1 {
		t.Fatalf("outputs: exit %d, %q", code, out)
	}

	out, errOut, code = cli(t, env, "run", "ro-crate", id)
	var doc struct {
		Graph []map[string]any `json:"@graph"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("ro-crate: exit %d, out %q, stderr %q", code, out, errOut)
	}
	byID := map[string]map[string]any{}
	for _, e := range doc.Graph {
		byID[e["@id"].(string)] = e
	}
	wf, eng, res := byID["workflow/Snakefile"], byID["#engine"], byID["outputs/"+ol.Outputs[0].Path]
	if wf == nil || wf["version"] != "1.0.0" || wf["sha256"] != "8ef4cebcf11e0ae519dbef31b2bfc717ac1549ab7f5e5aa4e588247768f0a2f0" ||
		byID["workflow/scripts/summarise.py"]["sha256"] != "ecd91463881fd48d0937c7b08706d1be5bfeeaea6dc249fd1846f3927a634a84" {
		t.Errorf("workflow in the crate: %v", wf)
	}
	if eng == nil || eng["name"] != "snakemake" || eng["softwareVersion"] == "" {
		t.Errorf("engine in the crate: %v", eng)
	}
	if res == nil || res["sha256"] != ol.Outputs[0].Sha256 {
		t.Errorf("released output in the crate: %v", res)
	}
	if strings.Contains(out, "age_band") {
		t.Error("the crate carries a parameter value")
	}

	file := filepath.Join(t.TempDir(), "ro-crate-metadata.json")
	if _, errOut, code := cli(t, env, "run", "ro-crate", id, "-O", file); code != 0 {
		t.Fatalf("ro-crate -O: exit %d, %q", code, errOut)
	}
	if b, err := os.ReadFile(file); err != nil || strings.TrimSpace(string(b)) != strings.TrimSpace(out) {
		t.Errorf("ro-crate -O wrote %d bytes (%v), not the crate printed", len(b), err)
	}
	if _, errOut, code := cli(t, env, "run", "ro-crate", id, "-O", file); code != 1 || !strings.Contains(errOut, "--force") {
		t.Errorf("ro-crate -O over an existing file: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, env, "run", "ro-crate", id, "-O", file, "--force"); code != 0 {
		t.Errorf("ro-crate -O --force: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, env, "run", "ro-crate", "0190a6b4-0000-7000-8000-000000000000"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("ro-crate of an unknown run: exit %d, %q", code, errOut)
	}
}
