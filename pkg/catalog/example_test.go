package catalog_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/wes"
)

const exampleCatalog = "../../examples/catalog/catalog.yaml"

// The shipped example catalogue must load without a problem: its sha256 pins match.
func TestExampleCatalogLoads(t *testing.T) {
	c, err := catalog.Load(exampleCatalog)
	if err != nil {
		t.Fatalf("the example catalogue has problems (after editing a workflow, update its sha256 pin):\n%v", err)
	}
	if w, d := c.Len(); w != 2 || d != 1 {
		t.Fatalf("example catalogue: %d workflows, %d datasets; want 2, 1", w, d)
	}
	// The embedded demo's anonymous researcher may use both workflows and the dataset.
	if got := c.Visible(wes.Anonymous); len(got) != 2 || len(c.VisibleDatasets(wes.Anonymous)) != 1 {
		t.Errorf("anonymous sees %v", got)
	}
	if got := c.Visible(&wes.Principal{Subject: "x", Groups: []string{"other"}}); len(got) != 0 {
		t.Errorf("an outsider sees %v", got)
	}
	if got := c.WorkflowTypes(); len(got) != 2 || got["SMK"][0] != "1.0" || got["CWL"][0] != "v1.2" {
		t.Errorf("WorkflowTypes = %v", got)
	}
}

// Each example workflow runs with the real engine the way the runner will run it:
// Authorize, StageFiles, the engine's Prepare with the rewritten params, the argv in the
// work dir. The result is right, and the output allow-list matches only it, not the
// row-level copy the workflow also writes.
func TestExampleWorkflowsRun(t *testing.T) {
	c, err := catalog.Load(exampleCatalog)
	if err != nil {
		t.Fatal(err)
	}
	analyst := &wes.Principal{Subject: "ada", Groups: []string{"cohort-analysts"}}
	tests := []struct {
		id, binary string
		engine     func(bin string) wes.Engine
		params     string
		column     string
		min        int
		result     string // allow-listed
		raw        string // written, not allow-listed
	}{
		{id: "cohort-count-smk", binary: "snakemake",
			engine: func(bin string) wes.Engine { return snakemake.New(snakemake.Config{Binary: bin}, nil) },
			params: `{"cohort": "cohort-demo", "group_by": "site", "min_count": 10}`, column: "site", min: 10,
			result: "results/summary.csv", raw: "work/raw_copy.csv"},
		{id: "cohort-count-cwl", binary: "cwltool",
			engine: func(bin string) wes.Engine { return cwl.New(cwl.Config{Binary: bin}, nil) },
			params: `{"cohort": "cohort-demo", "group_by": "age_band"}`, column: "age_band", min: 5,
			result: "outputs/summary.csv", raw: "outputs/raw_copy.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			bin := requireBinary(t, tt.binary)
			res, err := c.Authorize(analyst, tt.id, json.RawMessage(tt.params))
			if err != nil {
				t.Fatal(err)
			}
			entry := res.Entry
			l := wes.LayoutFor(t.TempDir(), "run1")
			for _, d := range []string{l.WorkDir(), l.LogDir()} {
				must(t, os.MkdirAll(d, 0o755))
			}
			if err := c.StageFiles(tt.id, l.WorkDir()); err != nil {
				t.Fatal(err)
			}
			eng := tt.engine(bin)
			vs, err := eng.(interface {
				Discover(context.Context) ([]string, error)
			}).Discover(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			run := &wes.Run{ID: "run1", EngineVer: vs[0], Request: wes.RunRequest{
				WorkflowType: entry.WorkflowType, WorkflowTypeVersion: entry.WorkflowTypeVersion,
				WorkflowParams:           res.Params,
				WorkflowEngineParameters: entry.EngineParameters(nil),
			}}
			job, err := eng.Prepare(t.Context(), wes.PrepareInput{Run: run, WorkDir: l.WorkDir(), WorkflowPath: entry.Main})
			if err != nil {
				t.Fatal(err)
			}
			if code := execJob(t, l, job, 3*time.Minute); code != 0 {
				stderr, _ := os.ReadFile(l.StderrPath())
				t.Fatalf("%s exited %d:\n%s", tt.binary, code, stderr)
			}

			got, err := os.ReadFile(filepath.Join(l.WorkDir(), tt.result))
			if err != nil {
				t.Fatal(err)
			}
			if want := expectedSummary(t, tt.column, tt.min); string(got) != want {
				t.Errorf("%s =\n%s\nwant\n%s", tt.result, got, want)
			}
			if _, err := os.Stat(filepath.Join(l.WorkDir(), tt.raw)); err != nil {
				t.Errorf("the workflow did not write its intermediate %s: %v", tt.raw, err)
			}
			if got := allowListed(t, l.WorkDir(), entry.Outputs.Globs); !slices.Equal(got, []string{tt.result}) {
				t.Errorf("the allow-list matches %v, want only %s", got, tt.result)
			}
		})
	}
}

// expectedSummary computes what summarise.py must write, from the dataset itself.
func expectedSummary(t *testing.T, column string, min int) string {
	t.Helper()
	return testutil.ExampleSummary(t, "../../examples/catalog/data/cohort-demo/patients.csv", column, min)
}

// allowListed returns the regular files under dir that one of globs matches.
func allowListed(t *testing.T, dir string, globs []string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, g := range globs {
			if ok, _ := doublestar.Match(g, filepath.ToSlash(rel)); ok {
				out = append(out, filepath.ToSlash(rel))
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// execJob runs job as the local executor would (argv in the work dir, streams to the
// layout's log files) and returns its exit code.
func execJob(t *testing.T, l wes.Layout, job *wes.Job, timeout time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	stdout, err := os.Create(l.StdoutPath())
	must(t, err)
	defer stdout.Close()
	stderr, err := os.Create(l.StderrPath())
	must(t, err)
	defer stderr.Close()
	cmd := exec.CommandContext(ctx, job.Argv[0], job.Argv[1:]...)
	cmd.Dir = job.WorkDir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not end within %s", job.Argv[0], timeout)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	must(t, err)
	return 0
}

// requireBinary returns the program's path, or skips the test when it is not installed
// (except under CI, which must run the real engines).
func requireBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed, and CI must run the real engine: %v", name, err)
		}
		t.Skipf("SKIP: %s is not installed (%v)", name, err)
	}
	return p
}
