package snakemake_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/wes"
)

// copySnakefile copies the file its config names: Snakemake runs in the work dir, so a
// relative path in the config names an attached file.
const copySnakefile = `rule all:
    input: "results/copy.txt"

rule copy:
    input: config["input"]
    output: "results/copy.txt"
    shell: "cat {input} > {output}"
`

func TestRunRelativeInput(t *testing.T) {
	src := t.TempDir()
	enginetest.WriteFile(t, src, "Snakefile", copySnakefile)
	enginetest.WriteFile(t, src, "data/input.txt", "attached\n")
	enginetest.WriteFile(t, src, ".enclave/data/input.txt", "state dir\n") // beside the params file: never read
	l, _, code := runReal(t, src, `{"input": "data/input.txt"}`, nil)
	if code != 0 {
		t.Fatalf("snakemake exited %d:\n%s", code, enginetest.Logs(l))
	}
	got, err := os.ReadFile(filepath.Join(l.WorkDir(), "results", "copy.txt"))
	if err != nil || string(got) != "attached\n" {
		t.Fatalf("copy.txt = %q, %v", got, err)
	}
}

// A config string that could lead outside the work dir is refused at submission
// (engines.CheckInputs) and by Prepare; the message shows no path of the machine.
func TestRelativeInputsRefused(t *testing.T) {
	outside := t.TempDir()
	e := snakemake.New(snakemake.Config{Versions: []string{"7.21.0"}}, nil)
	for _, tt := range []struct{ params, wantMsg string }{
		{`{"input": "../../secret.txt"}`, `workflow_params.input: "../../secret.txt" has a .. segment`},
		{`{"samples": {"a": ["data/../../x"]}}`, `workflow_params.samples.a[0]: "data/../../x" has a .. segment`},
		{`{"input": "out/secret.txt"}`, `workflow_params.input: "out/secret.txt" passes through a link`},
	} {
		l := enginetest.NewRun(t, "r1", "")
		enginetest.WriteFile(t, l.WorkDir(), "Snakefile", copySnakefile)
		if err := os.Symlink(outside, filepath.Join(l.WorkDir(), "out")); err != nil {
			t.Fatal(err)
		}
		check := func(what string, err error) {
			t.Helper()
			if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.wantMsg) {
				t.Fatalf("%s %s: err = %v, want EINVALID with %q", what, tt.params, err, tt.wantMsg)
			}
			if msg := wes.ErrorMessage(err); strings.Contains(msg, l.Root) || strings.Contains(msg, outside) {
				t.Errorf("%s: the message shows a path of the machine: %s", what, msg)
			}
		}
		check("CheckInputs", engines.CheckInputs(e, l.WorkDir(), json.RawMessage(tt.params)))
		if _, err := os.Lstat(filepath.Join(l.WorkDir(), ".enclave")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("CheckInputs wrote into the work dir: %v", err)
		}
		_, err := e.Prepare(context.Background(), wes.PrepareInput{Run: newRun("r1", tt.params, nil), WorkDir: l.WorkDir(), WorkflowPath: "Snakefile"})
		check("Prepare", err)
	}
}
