package httpapi

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/wes"
)

// TestRealEngines wires the real Snakemake and cwltool engines, whose versions are
// discovered from the installed programs, and submits a CWL workflow through the API.
func TestRealEngines(t *testing.T) {
	for _, bin := range []string{"snakemake", "cwltool"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required under CI", bin)
			}
			t.Skipf("SKIP: %s is not installed (`make setup` installs it)", bin)
		}
	}
	reg := engines.NewRegistry(snakemake.New(snakemake.Config{}, nil), cwl.New(cwl.Config{}, nil))
	reg.Discover(context.Background(), nil)
	h := newHarness(t, func(_ *testConfig, d *testDeps) { d.Engines = reg })

	res, err := h.client.GetServiceInfoWithResponse(context.Background())
	if err != nil || res.JSON200 == nil {
		t.Fatalf("service-info: %v %s", err, res.Body)
	}
	si := res.JSON200
	for _, name := range []string{snakemake.Name, cwl.Name} {
		if len(si.WorkflowEngineVersions[name].WorkflowEngineVersion) == 0 {
			t.Errorf("no discovered version of %s: %s", name, res.Body)
		}
	}
	if _, ok := si.WorkflowTypeVersions[snakemake.WorkflowType]; !ok {
		t.Errorf("SMK missing from workflow_type_versions: %s", res.Body)
	}
	cwlVersion := si.WorkflowTypeVersions[cwl.WorkflowType].WorkflowTypeVersion
	if len(cwlVersion) == 0 {
		t.Fatalf("CWL missing from workflow_type_versions: %s", res.Body)
	}

	id := h.submit("alice",
		field("workflow_type", cwl.WorkflowType),
		field("workflow_type_version", cwlVersion[len(cwlVersion)-1]),
		field("workflow_url", "wf/echo.cwl"),
		field("workflow_params", `{"message": "hello"}`),
		file("wf/echo.cwl", "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs:\n  message: {type: string, inputBinding: {position: 1}}\noutputs: []\n"),
	)
	r, err := h.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Engine != cwl.Name || r.EngineVer != si.WorkflowEngineVersions[cwl.Name].WorkflowEngineVersion[0] || r.State != wes.StateQueued {
		t.Errorf("stored run: engine %q %q state %s", r.Engine, r.EngineVer, r.State)
	}
}
