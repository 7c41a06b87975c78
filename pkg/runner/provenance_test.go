package runner

import (
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/executors/tes"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/wes"
)

// The start step's provenance takes the image from executors that report one (the job's
// own, else the executor's default), none from others, and the engine version the job
// was prepared for (the newest offered when the run named none), keeping what submission
// recorded of the workflow.
func TestProvenanceOf(t *testing.T) {
	tx, err := tes.New(tes.Config{URL: "http://tes.invalid/ga4gh/tes/v1", Image: "quay.io/enclave/engines:2", AllowedDirs: []string{"/srv/zone"}})
	if err != nil {
		t.Fatal(err)
	}
	fx, err := fake.New(fake.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	eng := snakemake.New(snakemake.Config{Versions: []string{"7.21.0", "8.1.0"}}, nil)
	run := &wes.Run{Provenance: &wes.Provenance{Workflow: "wf", WorkflowVersion: "3"}}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		ex         wes.Executor
		job        wes.Job
		ver, image string
	}{
		{tx, wes.Job{}, "", "quay.io/enclave/engines:2"},
		{tx, wes.Job{Image: "own/image:1"}, "7.21.0", "own/image:1"},
		{fx, wes.Job{Image: "own/image:1"}, "", ""},
	} {
		run.EngineVer = tt.ver
		p := provenanceOf(run, eng, tt.ex, &tt.job, now)
		wantVer := tt.ver
		if wantVer == "" {
			wantVer = "8.1.0"
		}
		if p.Image != tt.image || p.EngineVersion != wantVer || p.Engine != "snakemake" || p.Executor != tt.ex.Name() ||
			p.Workflow != "wf" || p.WorkflowVersion != "3" || !p.Staged.Equal(now) {
			t.Errorf("%s %+v: %+v", tt.ex.Name(), tt.job, p)
		}
	}
	if run.Provenance.Executor != "" {
		t.Error("provenanceOf changed the run it was given")
	}
}
