package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wesclient"
)

// project writes files (path → content) under a new directory and returns it.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunSubmitSendsFilesAndFields(t *testing.T) {
	t.Parallel()
	f := newFakeWES(t, wesclient.BasePath)
	dir := project(t, map[string]string{
		"wf/Snakefile":               "rule all: pass\n",
		"wf/scripts/x.py":            "print(1)\n",
		"wf/scripts/deep/y.py":       "print(2)\n",
		"wf/scripts/.snakemake/junk": "state",
		"wf/config.yaml":             "a: 1\n",
		"params.json":                `{"sample": "A", "n": 1}`,
	})
	if err := os.Symlink("x.py", filepath.Join(dir, "wf/scripts/link.py")); err != nil {
		t.Fatal(err)
	}
	env := []string{"ENCLAVE_URL=" + f.url(), "ENCLAVE_TOKEN=" + secretToken}
	out, errOut, code := cli(t, env, "run", "submit", filepath.Join(dir, "wf/Snakefile"),
		"--attach", filepath.Join(dir, "wf/scripts"), "--attach", filepath.Join(dir, "wf/config.yaml"),
		"--type", "SMK", "--type-version", "1.0", "--engine", "snakemake", "--engine-version", "7.21",
		"--params", filepath.Join(dir, "params.json"), "--param", "n:=4", "--param", "label=1.0",
		"--tag", "project=p1", "--tag", "who=me=you", "--engine-param", "cores=2")
	if code != 0 {
		t.Fatalf("submit: exit %d, stderr %q", code, errOut)
	}
	if out != "run-1\n" {
		t.Errorf("submit printed %q, want the run id", out)
	}
	s := f.lastSubmission(t)
	wantFiles := map[string]string{
		"Snakefile":         "rule all: pass\n",
		"scripts/x.py":      "print(1)\n",
		"scripts/deep/y.py": "print(2)\n",
		"scripts/link.py":   "print(1)\n",
		"config.yaml":       "a: 1\n",
	}
	if !reflect.DeepEqual(s.files, wantFiles) {
		t.Errorf("attachments = %v, want %v", s.files, wantFiles)
	}
	wantFields := map[string]string{
		"workflow_type":              "SMK",
		"workflow_type_version":      "1.0",
		"workflow_engine":            "snakemake",
		"workflow_engine_version":    "7.21",
		"workflow_url":               "Snakefile",
		"workflow_params":            `{"label":"1.0","n":4,"sample":"A"}`,
		"tags":                       `{"project":"p1","who":"me=you"}`,
		"workflow_engine_parameters": `{"cores":"2"}`,
	}
	if !reflect.DeepEqual(s.fields, wantFields) {
		t.Errorf("fields = %v, want %v", s.fields, wantFields)
	}
	if h := f.authHeaders(); len(h) != 1 || h[0] != "Bearer "+secretToken {
		t.Errorf("Authorization headers %q", h)
	}

	// JSON output, parameters from standard input, and a base directory above the workflow.
	out, errOut, code = cliStdin(t, env, `{"x": [1, 2]}`, "run", "submit", filepath.Join(dir, "wf/Snakefile"),
		"--base-dir", dir, "--type", "SMK", "--type-version", "1.0", "--params", "-", "-o", "json")
	var id struct {
		RunID string `json:"run_id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &id) != nil || id.RunID != "run-2" {
		t.Fatalf("submit -o json: exit %d, out %q, stderr %q", code, out, errOut)
	}
	s = f.lastSubmission(t)
	if s.fields["workflow_url"] != "wf/Snakefile" || s.fields["workflow_params"] != `{"x":[1,2]}` || len(s.files) != 1 {
		t.Errorf("second submission: fields %v, files %v", s.fields, s.files)
	}
}

func TestRunSubmitRefuses(t *testing.T) {
	t.Parallel()
	f := newFakeWES(t, wesclient.BasePath)
	dir := project(t, map[string]string{
		"wf/Snakefile":   "x",
		"wf/data/a.txt":  "a",
		"outside/secret": "s",
		"params.json":    `["not", "an", "object"]`,
	})
	if err := os.Symlink(filepath.Join(dir, "outside/secret"), filepath.Join(dir, "wf/data/leak")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "wf/data"), filepath.Join(dir, "wf/dirlink")); err != nil {
		t.Fatal(err)
	}
	wf := filepath.Join(dir, "wf/Snakefile")
	typ := []string{"--type", "SMK", "--type-version", "1.0"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"symlink leaving the dir", []string{"--attach", filepath.Join(dir, "wf/data")}, "symbolic link that leaves the base directory"},
		{"symlink to a directory", []string{"--attach", filepath.Join(dir, "wf/dirlink")}, "symbolic link to a directory"},
		{"file outside the base", []string{"--attach", filepath.Join(dir, "outside/secret")}, "outside the base directory"},
		{"base dir itself as a file name", []string{"--attach", filepath.Join(dir, "wf/..")}, "outside the base directory"},
		{"missing file", []string{"--attach", filepath.Join(dir, "wf/nope")}, "no such file"},
		{"params not an object", []string{"--params", filepath.Join(dir, "params.json")}, "not a JSON object"},
		{"param without =", []string{"--param", "novalue"}, "name=text or name:=JSON"},
		{"typed param not JSON", []string{"--param", "n:=four"}, "not JSON"},
		{"tag without =", []string{"--tag", "x"}, "--tag"},
		{"engine param without key", []string{"--engine-param", "=1"}, "--engine-param"},
		{"server refusal", []string{"--type", "BAD"}, "400 Bad Request: workflow_type: BAD is not supported"},
	}
	for _, tt := range tests {
		args := append(append([]string{"run", "submit", wf, "--url", f.url()}, typ...), tt.args...)
		_, errOut, code := cli(t, nil, args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tt.name, code, errOut, tt.want)
		}
	}
	if _, errOut, code := cli(t, nil, "run", "submit", wf, "--url", f.url()); code != 1 || !strings.Contains(errOut, `"type"`) {
		t.Errorf("submit without --type: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, nil, append([]string{"run", "submit", filepath.Join(dir, "wf"), "--url", f.url()}, typ...)...); code != 1 || !strings.Contains(errOut, "is a directory") {
		t.Errorf("submit of a directory: exit %d, %q", code, errOut)
	}
	f.mu.Lock()
	n := len(f.submits)
	f.mu.Unlock()
	if n != 0 {
		t.Errorf("%d refused submissions reached the server", n)
	}
}

func TestRunSubmitDryRun(t *testing.T) {
	t.Parallel()
	dir := project(t, map[string]string{"main.cwl": "cwl", "tools/a.cwl": "a", ".git/config": "g", "tools/.hidden/b": "b"})
	out, errOut, code := cli(t, nil, "run", "submit", filepath.Join(dir, "main.cwl"), "--attach", dir,
		"--type", "CWL", "--type-version", "v1.2", "--dry-run", "--url", "http://127.0.0.1:1")
	if code != 0 {
		t.Fatalf("dry run: exit %d, %q", code, errOut)
	}
	want := "workflow_type: CWL\nworkflow_type_version: v1.2\nworkflow_url: main.cwl\nworkflow_attachment: main.cwl\nworkflow_attachment: tools/a.cwl\n"
	if out != want {
		t.Errorf("dry run printed\n%s\nwant\n%s", out, want)
	}
}

func TestRunSubmitSendsIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := newFakeWES(t, wesclient.BasePath)
	dir := project(t, map[string]string{"Snakefile": "rule all: pass\n"})
	env := []string{"ENCLAVE_URL=" + f.url(), "ENCLAVE_TOKEN=" + secretToken}
	submit := func(extra ...string) string {
		t.Helper()
		args := append([]string{"run", "submit", filepath.Join(dir, "Snakefile"), "--type", "SMK", "--type-version", "1.0"}, extra...)
		if _, errOut, code := cli(t, env, args...); code != 0 {
			t.Fatalf("submit: exit %d, stderr %q", code, errOut)
		}
		return f.lastSubmission(t).key
	}
	a, b := submit(), submit()
	if a == "" || b == "" || a == b {
		t.Errorf("default keys %q and %q: want two different random keys", a, b)
	}
	if k := submit("--idempotency-key", "mine-1"); k != "mine-1" {
		t.Errorf("--idempotency-key sent %q", k)
	}
}
