package nextflow_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
	"github.com/spe4hd/enclave/pkg/engines/nextflow"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Nextflow launches in the work dir, so a relative path in params names an attached file
// as it is; one that could lead outside is refused at submission and by Prepare.
func TestRelativeInputs(t *testing.T) {
	logNoEngine(t)
	outside := t.TempDir()
	e := nextflow.New(nextflow.Config{Versions: []string{"24.04.4"}}, nil)
	newWorkDir := func() wes.Layout {
		l := enginetest.NewRun(t, "r1", "")
		enginetest.WriteFile(t, l.WorkDir(), "main.nf", "workflow { }\n")
		enginetest.WriteFile(t, l.WorkDir(), "data/input.txt", "attached\n")
		if err := os.Symlink(outside, filepath.Join(l.WorkDir(), "out")); err != nil {
			t.Fatal(err)
		}
		return l
	}

	l := newWorkDir()
	params := `{"input": "data/input.txt", "reference": "/refs/genome.fa", "outdir": "results"}`
	if err := engines.CheckInputs(e, l.WorkDir(), json.RawMessage(params)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Prepare(context.Background(), wes.PrepareInput{Run: newRun(params, nil), WorkDir: l.WorkDir(), WorkflowPath: "main.nf"}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(l.WorkDir(), ".enclave", "params.json"))
	if !strings.Contains(string(data), `"input": "data/input.txt"`) {
		t.Errorf("params file = %s, want the path as it was sent", data)
	}

	for _, tt := range []struct{ params, wantMsg string }{
		{`{"input": "../other/work/data.csv"}`, `workflow_params.input: "../other/work/data.csv" has a .. segment`},
		{`{"inputs": ["data/input.txt", "./out/x"]}`, `workflow_params.inputs[1]: "./out/x" passes through a link`},
	} {
		l := newWorkDir()
		err := engines.CheckInputs(e, l.WorkDir(), json.RawMessage(tt.params))
		if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.wantMsg) {
			t.Errorf("CheckInputs %s: err = %v, want EINVALID with %q", tt.params, err, tt.wantMsg)
		}
		_, err = e.Prepare(context.Background(), wes.PrepareInput{Run: newRun(tt.params, nil), WorkDir: l.WorkDir(), WorkflowPath: "main.nf"})
		if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.wantMsg) {
			t.Errorf("Prepare %s: err = %v, want EINVALID with %q", tt.params, err, tt.wantMsg)
		}
	}
}
