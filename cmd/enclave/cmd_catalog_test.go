package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCatalogCheck(t *testing.T) {
	t.Parallel()
	out, errOut, code := cli(t, nil, "catalog", "check", "../../examples/catalog/catalog.yaml")
	if code != 0 || out != "catalogue ok: 2 workflows, 1 datasets, 0 warning(s)\n" {
		t.Fatalf("check of the example catalogue: exit %d, %q, %q", code, out, errOut)
	}

	// A copy with three problems: a changed workflow file, a glob that escapes, an unknown engine.
	dir := t.TempDir()
	copyTree(t, "../../examples/catalog", dir)
	appendTo(t, filepath.Join(dir, "workflows/cohort-count-smk/Snakefile"), "\n# changed\n")
	path := filepath.Join(dir, "catalog.yaml")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(text), "globs: [outputs/summary.csv]", "globs: [../outputs/summary.csv]", 1)
	s = strings.Replace(s, "engine: cwltool", "engine: toil", 1)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = cli(t, nil, "catalog", "check", path)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 1 || len(lines) != 3 || !strings.Contains(errOut, "3 problem(s)") {
		t.Fatalf("check of a broken catalogue: exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
	for i, want := range []string{
		"workflows[cohort-count-smk].files[0].sha256: mismatch: Snakefile has sha256 ",
		`workflows[cohort-count-cwl].engine: "toil" is not an engine of this server`,
		`workflows[cohort-count-cwl].outputs.globs[0]: "../outputs/summary.csv" must not contain ..`,
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], want)
		}
	}

	out, _, code = cli(t, nil, "catalog", "check", filepath.Join(dir, "missing.yaml"))
	if code != 1 || !strings.HasPrefix(out, "cannot read the catalogue") {
		t.Errorf("check of a missing file: exit %d, %q", code, out)
	}
	if _, errOut, code := cli(t, nil, "catalog", "check"); code != 1 || !strings.Contains(errOut, "accepts 1 arg") {
		t.Errorf("check without a file: exit %d, %q", code, errOut)
	}
}

// A free-text string parameter is a warning, not a problem, unless --strict.
func TestCatalogCheckWarnsOnFreeText(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyTree(t, "../../examples/catalog", dir)
	path := filepath.Join(dir, "catalog.yaml")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	free := "        label:\n          description: Free text.\n          type: string\n        min_count:"
	s := strings.Replace(string(text), "        min_count:", free, 1)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli(t, nil, "catalog", "check", path)
	// The schema is shared by both entries (a YAML anchor), so both are named.
	if code != 0 || strings.Count(out, "warning: workflow cohort-count-") != 2 || !strings.Contains(out, "/properties/label accepts free text") ||
		!strings.HasSuffix(out, "catalogue ok: 2 workflows, 1 datasets, 2 warning(s)\n") {
		t.Fatalf("check: exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
	if _, errOut, code := cli(t, nil, "catalog", "check", "--strict", path); code != 1 || !strings.Contains(errOut, "2 warning(s) with --strict") {
		t.Errorf("check --strict: exit %d, %q", code, errOut)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
