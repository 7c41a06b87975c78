package enginekit

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// inputsDir is a work dir with data/input.txt, an empty directory, and two links: one to
// a directory outside the run and one to a file outside it.
func inputsDir(t *testing.T) (workDir, outside string) {
	t.Helper()
	outside = t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	workDir = t.TempDir()
	for _, d := range []string{"data", "empty"} {
		if err := os.MkdirAll(filepath.Join(workDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(workDir, "data", "input.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(workDir, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(workDir, "data", "secret.txt")); err != nil {
		t.Fatal(err)
	}
	return workDir, outside
}

func TestHasDotDot(t *testing.T) {
	for s, want := range map[string]bool{
		"..": true, "../x": true, "a/../b": true, `a\..\b`: true, "a/..": true, "x/../../y": true,
		"": false, ".": false, "a..b": false, "..a/b": false, "a/b..": false, "see ../docs": false, "/abs": false,
	} {
		if got := HasDotDot(s); got != want {
			t.Errorf("HasDotDot(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestTreeLookup(t *testing.T) {
	workDir, _ := inputsDir(t)
	tree := NewTree(workDir)
	tests := []struct {
		rel      string
		wantDir  bool
		wantFile bool
		wantErr  error
	}{
		{rel: "data/input.txt", wantFile: true},
		{rel: "./data//input.txt", wantFile: true},
		{rel: "/data/input.txt", wantFile: true}, // under workDir, as the OS reads "<workdir>//data/input.txt"
		{rel: "data", wantDir: true},
		{rel: "data/", wantDir: true},
		{rel: ".", wantDir: true},
		{rel: "data/missing.txt"},
		{rel: "missing/input.txt"},
		{rel: "data/input.txt/x"}, // through a file
		{rel: "no\x00pe"},
		{rel: strings.Repeat("x", 300)},
		{rel: "out/secret.txt", wantErr: ErrLink},
		{rel: "out", wantErr: ErrLink},
		{rel: "data/secret.txt", wantErr: ErrLink},
	}
	for _, tt := range tests {
		mode, ok, err := tree.Lookup(tt.rel)
		switch {
		case tt.wantErr != nil:
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Lookup(%q) = %v %v, %v; want %v", tt.rel, mode, ok, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("Lookup(%q): %v", tt.rel, err)
		case !tt.wantDir && !tt.wantFile:
			if ok {
				t.Errorf("Lookup(%q) = %v, want nothing", tt.rel, mode)
			}
		case !ok || mode.IsDir() != tt.wantDir || mode.IsRegular() != tt.wantFile:
			t.Errorf("Lookup(%q) = %v %v, want dir %v file %v", tt.rel, mode, ok, tt.wantDir, tt.wantFile)
		}
	}
	// A work dir reached through a link is still read (the data dir's path may be one).
	linked := filepath.Join(t.TempDir(), "linked")
	if err := os.Symlink(workDir, linked); err != nil {
		t.Fatal(err)
	}
	if mode, ok, err := NewTree(linked).Lookup("data/input.txt"); err != nil || !ok || !mode.IsRegular() {
		t.Errorf("through a linked work dir: %v %v %v", mode, ok, err)
	}
	if _, _, err := NewTree(filepath.Join(workDir, "nope")).Lookup("x"); !wes.IsCode(err, wes.EINTERNAL) {
		t.Errorf("a missing work dir: %v, want EINTERNAL", err)
	}
}

// Every string of Snakemake's config or Nextflow's params may be a path: those that could
// leave the work dir are refused wherever they are, and nothing else is touched.
func TestCheckPlainInputs(t *testing.T) {
	workDir, outside := inputsDir(t)
	accepted := `{"in": "data/input.txt", "out": "results/x.txt", "abs": "/refs/genome.fa", "url": "https://example.org/a/../b",
		"text": "see ../docs, or a..b", "n": 1.50, "big": 123456789012345678901234567890, "list": ["data", "empty/", "."],
		"nested": {"a": [{"b": "data/input.txt"}]}, "empty": "", "nul": "a\u0000b", "yes": true, "none": null}`
	obj, err := ParamsObject(json.RawMessage(accepted))
	if err != nil {
		t.Fatal(err)
	}
	got, err := CheckPlainInputs(workDir, obj)
	if err != nil {
		t.Fatalf("refused %s: %v", accepted, err)
	}
	for k, v := range obj {
		if string(got[k]) != string(v) {
			t.Errorf("%s changed: %s, want %s", k, got[k], v)
		}
	}

	tests := []struct{ params, wantMsg string }{
		{`{"in": "../x"}`, `workflow_params.in: "../x" has a .. segment`},
		{`{"in": "data/../../x"}`, `workflow_params.in: "data/../../x" has a .. segment`},
		{`{"in": "data/../input.txt"}`, `has a .. segment`},
		{`{"in": ".."}`, `has a .. segment`},
		{`{"a": {"b": [1, "../../etc/passwd"]}}`, `workflow_params.a.b[1]: "../../etc/passwd" has a .. segment`},
		{`{"odd key!": "../x"}`, `workflow_params["odd key!"]`},
		{`{"in": "out/secret.txt"}`, `workflow_params.in: "out/secret.txt" passes through a link`},
		{`{"in": "data/secret.txt"}`, `passes through a link`},
		{`{"in": ["ok", "./out"]}`, `workflow_params.in[1]: "./out" passes through a link`},
	}
	for _, tt := range tests {
		obj, err := ParamsObject(json.RawMessage(tt.params))
		if err != nil {
			t.Fatal(err)
		}
		_, err = CheckPlainInputs(workDir, obj)
		if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.wantMsg) {
			t.Errorf("%s: err = %v, want EINVALID with %q", tt.params, err, tt.wantMsg)
			continue
		}
		if msg := wes.ErrorMessage(err); strings.Contains(msg, workDir) || strings.Contains(msg, outside) {
			t.Errorf("%s: the message shows a path of the machine: %s", tt.params, msg)
		}
	}
}

func TestCheckInputsWritesNothing(t *testing.T) {
	workDir, _ := inputsDir(t)
	refuseKey := func(k string) error {
		if k == "bad" {
			return wes.Errorf(wes.EINVALID, "bad key")
		}
		return nil
	}
	for params, wantMsg := range map[string]string{
		`{"in": "data/input.txt"}`: "",
		`{"in": "../x"}`:           "has a .. segment",
		`{"bad": 1}`:               "bad key",
		`[1]`:                      "must be a JSON object",
		``:                         "",
	} {
		err := CheckInputs(workDir, json.RawMessage(params), refuseKey, CheckPlainInputs)
		if (wantMsg == "") != (err == nil) || (err != nil && !strings.Contains(wes.ErrorMessage(err), wantMsg)) {
			t.Errorf("%s: err = %v, want %q", params, err, wantMsg)
		}
	}
	if _, err := os.Lstat(filepath.Join(workDir, StateDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CheckInputs wrote %s: %v", StateDir, err)
	}
}

// BenchmarkCheckPlainInputs checks a config of 10,000 sample paths (each string costs one
// Lstat until a component is missing).
func BenchmarkCheckPlainInputs(b *testing.B) {
	workDir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(workDir, "data"), 0o755); err != nil {
		b.Fatal(err)
	}
	samples := make([]string, 10000)
	for i := range samples {
		samples[i] = "data/sample-" + strconv.Itoa(i) + ".fastq.gz"
	}
	raw, _ := json.Marshal(map[string]any{"samples": samples})
	obj, err := ParamsObject(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CheckPlainInputs(workDir, obj); err != nil {
			b.Fatal(err)
		}
	}
}
