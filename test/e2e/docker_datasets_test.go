package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// A catalogue run on the docker executor reads its dataset through a read-only mount of
// exactly that dataset (the example catalogue's cohort, mounted from dataset_roots) and
// completes with its released output; with dataset_roots elsewhere, the same run ends in
// SYSTEM_ERROR before any container exists, naming the dataset and no path.
func TestDockerCatalogueDatasets(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	catalogue := filepath.Join(repoRoot, "examples", "catalog", "catalog.yaml")
	request := wesclient.RunRequest{
		WorkflowType: "SMK", WorkflowTypeVersion: "1.0", WorkflowURL: "cohort-count-smk",
		WorkflowParams: map[string]any{"cohort": "cohort-demo", "group_by": "sex"},
	}
	for _, c := range []struct {
		name  string
		roots string
		want  api.State
	}{
		{"inside the dataset roots", filepath.Join(repoRoot, "examples", "catalog", "data"), api.StateCOMPLETE},
		{"outside the dataset roots", "", api.StateSYSTEMERROR},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tg := sharedDockerTarget(t)
			roots := c.roots
			if roots == "" {
				roots = t.TempDir()
			}
			d := tg.deployment(t, "ENCLAVE_ZONE_CATALOG="+catalogue, "ENCLAVE_EXECUTOR_DOCKER_DATASET_ROOTS="+roots)
			tg.startServer(d)
			id := d.api.mustSubmit(request)
			d.api.waitState(id, runTimeout, c.want)
			rl := d.api.runLog(id)
			if c.want == api.StateCOMPLETE {
				if _, ok := rl.Outputs["results/summary.csv"]; !ok || len(rl.Outputs) != 1 {
					t.Errorf("outputs %v; want results/summary.csv alone", sortedKeys(rl.Outputs))
				}
				return
			}
			logs := strings.Join(rl.RunLog.SystemLogs, "\n")
			if !strings.Contains(logs, `dataset "cohort-demo" lies outside the docker executor's dataset roots`) {
				t.Errorf("system logs %q; want the refusal naming the dataset", rl.RunLog.SystemLogs)
			}
			b, _ := json.Marshal(rl)
			if strings.Contains(string(b), filepath.Join(repoRoot, "examples")) || strings.Contains(string(b), roots) {
				t.Errorf("the run log shows a path of the zone: %s", b)
			}
		})
	}
}
