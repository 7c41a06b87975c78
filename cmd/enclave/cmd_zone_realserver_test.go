package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/internal/testsupport/apptest"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

func TestMain(m *testing.M) {
	// The in-process server starts jobs through this test binary (local.SelfShim), as
	// the real binary does through itself.
	local.MaybeShim()
	os.Exit(m.Run())
}

// exampleCatalog is the repository's example catalogue, absolute so the server finds it
// whatever its working directory.
func exampleCatalog(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples/catalog/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the example catalogue: %v", err)
	}
	return p
}

// startZone runs a whole Enclave (API and worker, internal/app) in this process on a
// free loopback port, with the real Redis of the tests (own key prefix and queue), the
// example catalogue, zone mode open and authentication off (the caller is the
// anonymous administrator), and returns its URL.
func startZone(t *testing.T) string {
	t.Helper()
	cfg := apptest.Config(t, "cli-zone", t.TempDir())
	cfg.Zone.Mode = "open"
	cfg.Zone.Catalog = exampleCatalog(t)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return "http://" + apptest.Start(t, cfg)
}

// expectedSummary is what cohort-count-smk releases for cohort-demo with its defaults
// (group_by site, min_count 5), computed from the dataset itself.
func expectedSummary(t *testing.T) string {
	t.Helper()
	return testutil.ExampleSummary(t, "../../examples/catalog/data/cohort-demo/patients.csv", "site", 5)
}

// The sealed-zone client against a whole real Enclave: the example catalogue, a
// catalogue run executed by real Snakemake, its outputs, their download, deletion and
// the audit trail, exported, verified and tampered with.
func TestZoneCommandsAgainstRealServer(t *testing.T) {
	if _, err := os.Stat("/usr/bin/snakemake"); err != nil {
		t.Skip("SKIP: snakemake is not installed at /usr/bin/snakemake")
	}
	env := []string{"ENCLAVE_URL=" + startZone(t)}

	// The catalogue.
	out, errOut, code := cli(t, env, "catalog", "list")
	if code != 0 || !strings.Contains(out, "ID") || !strings.Contains(out, "cohort-count-smk") ||
		!strings.Contains(out, "cohort-count-cwl") || !strings.Contains(out, "SMK 1.0") || !strings.Contains(out, "CWL v1.2") {
		t.Fatalf("catalog list: exit %d, out %q, stderr %q", code, out, errOut)
	}
	out, _, code = cli(t, env, "catalog", "list", "-o", "json")
	var wl struct {
		Workflows []struct {
			ID           string         `json:"id"`
			ParamsSchema map[string]any `json:"params_schema"`
		} `json:"workflows"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &wl) != nil || len(wl.Workflows) != 2 ||
		wl.Workflows[1].ID != "cohort-count-smk" || wl.Workflows[1].ParamsSchema["properties"] == nil {
		t.Errorf("catalog list -o json: exit %d, %s", code, out)
	}
	if out, errOut, code := cli(t, env, "catalog", "datasets"); code != 0 || !strings.Contains(out, "cohort-demo") || strings.Contains(out, "patients.csv") {
		t.Errorf("catalog datasets: exit %d, out %q, stderr %q", code, out, errOut)
	}

	// A catalogue run, with the refusals of the form first.
	if _, errOut, code := cli(t, env, "run", "submit", "Snakefile", "--workflow-id", "cohort-count-smk"); code != 1 || !strings.Contains(errOut, "not both") {
		t.Errorf("submit with a file and --workflow-id: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, env, "run", "submit", "--type", "SMK"); code != 1 || !strings.Contains(errOut, "--workflow-id") {
		t.Errorf("submit with neither: exit %d, %q", code, errOut)
	}
	if out, errOut, code := cli(t, nil, "run", "submit", "--workflow-id", "cohort-count-smk", "--param", "cohort=cohort-demo", "--dry-run"); code != 0 ||
		out != "workflow_params: {\"cohort\":\"cohort-demo\"}\nworkflow_url: cohort-count-smk\n" {
		t.Errorf("submit --workflow-id --dry-run: exit %d, out %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = cli(t, env, "run", "submit", "--workflow-id", "cohort-count-smk", "--param", "cohort=cohort-demo", "--tag", "who=cli")
	if code != 0 {
		t.Fatalf("submit --workflow-id: exit %d, stderr %q", code, errOut)
	}
	id := strings.TrimSpace(out)
	if out, errOut, code := cli(t, env, "run", "wait", id, "--interval", "200ms", "--timeout", "3m"); code != 0 || !strings.Contains(out, "COMPLETE") {
		t.Fatalf("wait: exit %d, out %q, stderr %q", code, out, errOut)
	}

	// Its outputs: the allow-listed summary only, never the row-level copy.
	out, errOut, code = cli(t, env, "run", "outputs", id, "-o", "json")
	var ol struct {
		Outputs []struct{ Path, Sha256, Status string } `json:"outputs"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &ol) != nil {
		t.Fatalf("outputs: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if len(ol.Outputs) != 1 || ol.Outputs[0].Path != "results/summary.csv" || ol.Outputs[0].Status != "released" {
		t.Fatalf("outputs: %+v", ol.Outputs)
	}
	sha := ol.Outputs[0].Sha256
	if out, _, code := cli(t, env, "run", "outputs", id); code != 0 || !strings.Contains(out, "PATH") ||
		!strings.Contains(out, "results/summary.csv") || !strings.Contains(out, sha) || !strings.Contains(out, "released") {
		t.Errorf("outputs table: exit %d, %q", code, out)
	}

	// Download: into -d DIR under the output's path, to -O FILE, to standard output.
	want := expectedSummary(t)
	if fmt.Sprintf("%x", sha256.Sum256([]byte(want))) != sha {
		t.Errorf("the listed sha256 %s is not that of the expected summary %q", sha, want)
	}
	dir := t.TempDir()
	out, errOut, code = cli(t, env, "run", "download", id, "results/summary.csv", "-d", dir)
	if code != 0 || !strings.Contains(out, "sha256 "+sha+" ok") {
		t.Fatalf("download -d: exit %d, out %q, stderr %q", code, out, errOut)
	}
	got, err := os.ReadFile(filepath.Join(dir, "results", "summary.csv"))
	if err != nil || string(got) != want {
		t.Errorf("downloaded %q (%v), want %q", got, err, want)
	}
	if _, errOut, code := cli(t, env, "run", "download", id, "results/summary.csv", "-d", dir); code != 1 || !strings.Contains(errOut, "--force") {
		t.Errorf("download over an existing file: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, env, "run", "download", id, "results/summary.csv", "-d", dir, "--force"); code != 0 {
		t.Errorf("download --force: exit %d, %q", code, errOut)
	}
	file := filepath.Join(dir, "counts.csv")
	if _, errOut, code := cli(t, env, "run", "download", id, "results/summary.csv", "-O", file); code != 0 {
		t.Errorf("download -O: exit %d, %q", code, errOut)
	} else if got, err := os.ReadFile(file); err != nil || string(got) != want {
		t.Errorf("download -O wrote %q (%v)", got, err)
	}
	if out, errOut, code := cli(t, env, "run", "download", id, "results/summary.csv", "-O", "-"); code != 0 || out != want {
		t.Errorf("download -O -: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code := cli(t, env, "run", "download", id, "work/raw_copy.csv", "-d", dir); code != 1 || !strings.Contains(errOut, "has no output") {
		t.Errorf("download of a file that was not released: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "work")); err == nil {
		t.Error("a refused download created files")
	}

	// Review: this workflow's egress is auto, so nothing waits.
	if _, errOut, code := cli(t, env, "run", "review", id, "--approve"); code != 1 || !strings.Contains(errOut, "409") {
		t.Errorf("review of a run with nothing pending: exit %d, %q", code, errOut)
	}
	// The review queue and the other list filters.
	if out, errOut, code := cli(t, env, "run", "list", "--review", "pending", "--all"); code != 0 || strings.Contains(out, id) {
		t.Errorf("review queue with nothing pending: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if out, errOut, code := cli(t, env, "run", "list", "--state", "complete", "--workflow", "cohort-count-smk", "--all"); code != 0 || !strings.Contains(out, id) {
		t.Errorf("list --state complete --workflow: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code := cli(t, env, "run", "list", "--state", "done"); code != 1 || !strings.Contains(errOut, "not a WES state") {
		t.Errorf("list --state done: exit %d, %q", code, errOut)
	}

	// The audit trail: list, export, verify, tamper.
	out, errOut, code = cli(t, env, "audit", "list", "--run", id, "--action", "run.*", "--since", "1h")
	if code != 0 || !strings.Contains(out, "run.submit") {
		t.Errorf("audit list: exit %d, out %q, stderr %q", code, out, errOut)
	}
	export := filepath.Join(dir, "audit.jsonl")
	if _, errOut, code := cli(t, env, "audit", "export", "-O", export); code != 0 {
		t.Fatalf("audit export: exit %d, %q", code, errOut)
	}
	out, errOut, code = cli(t, env, "audit", "verify", export)
	if code != 0 || !strings.HasPrefix(out, "audit chain ok: ") || !strings.Contains(out, " entries, head ") {
		t.Fatalf("audit verify of the export: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if out, errOut, code := cli(t, env, "audit", "verify"); code != 0 || !strings.HasPrefix(out, "audit chain ok: ") {
		t.Errorf("audit verify of a fresh export: exit %d, out %q, stderr %q", code, out, errOut)
	}
	text, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(text, []byte("\n")), []byte("\n"))
	if len(lines) < 3 {
		t.Fatalf("the export has %d lines", len(lines))
	}
	edited := bytes.Replace(lines[1], []byte(`"outcome":"`), []byte(`"outcome":"x`), 1)
	if bytes.Equal(edited, lines[1]) {
		t.Fatalf("line 2 of the export has no outcome to edit: %s", lines[1])
	}
	lines[1] = edited
	tampered := filepath.Join(dir, "tampered.jsonl")
	if err := os.WriteFile(tampered, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = cli(t, env, "audit", "verify", tampered)
	if code != 1 || !strings.Contains(out, "seq 2") || !strings.Contains(out, "hash_mismatch") || !strings.Contains(errOut, "audit chain broken") {
		t.Errorf("audit verify of a tampered export: exit %d, out %q, stderr %q", code, out, errOut)
	}

	// Deletion: the outputs go, the record and the trail stay.
	if out, errOut, code := cli(t, env, "run", "delete", id); code != 0 || strings.TrimSpace(out) != id {
		t.Fatalf("delete: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if out, _, code := cli(t, env, "run", "outputs", id); code != 0 || strings.Contains(out, "summary.csv") {
		t.Errorf("outputs after delete: exit %d, %q", code, out)
	}
	if out, errOut, code := cli(t, env, "audit", "list", "--run", id, "-o", "json"); code != 0 || !strings.Contains(out, `"run.delete"`) {
		t.Errorf("audit list after delete: exit %d, out %q, stderr %q", code, out, errOut)
	}
}

// Where downloads may be written: only plain relative paths, and never through a
// symbolic link out of the directory.
func TestSaveTargetStaysInside(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	body := "a,b\n"
	sum := sha256.Sum256([]byte(body))
	good := hex.EncodeToString(sum[:])
	tests := []struct {
		name, rel, sha, want string
	}{
		{"plain", "results/x.csv", good, ""},
		{"dot dot", "../x.csv", good, "not a plain relative path"},
		{"inner dot dot", "results/../../x.csv", good, "not a plain relative path"},
		{"absolute", "/tmp/x.csv", good, "not a plain relative path"},
		{"unclean", "results//x.csv", good, "not a plain relative path"},
		{"backslash", `results\x.csv`, good, "backslashes"},
		{"control", "results/x\n.csv", good, "control characters"},
		{"symlink out", "link/x.csv", good, "escapes"},
		{"wrong sha", "results/y.csv", strings.Repeat("0", 64), "not saved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, err := targetInDir(dir, tt.rel, false, 0o644)
			if err == nil {
				defer target.Close()
				_, _, err = target.write(strings.NewReader(body), tt.sha)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tt.rel))); err != nil || string(got) != body {
					t.Errorf("wrote %q, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
	for _, d := range []string{outside, filepath.Join(dir, "results")} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if e.Name() != "x.csv" || d == outside {
				t.Errorf("left behind: %s", filepath.Join(d, e.Name()))
			}
		}
	}
}
