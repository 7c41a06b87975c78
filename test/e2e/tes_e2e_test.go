package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
)

// The real enclave binary, as a server and a separate worker on Redis, runs the Snakemake
// example through the WES API on the tes executor: one task per run on the test services'
// Funnel (GA4GH TES), run as a container of the engine image on the test dockerd. The
// example completes with its outputs, its tasks (each pointing at the run's TES task with
// tes_uri) and Snakemake's report on stderr; a failing workflow ends EXECUTOR_ERROR with
// its exit code and its stderr, which comes from the task's log.
func TestTESExecutorEndToEnd(t *testing.T) {
	begin(t, "snakemake")
	env := crashEnv(t, "the tes executor needs the test Funnel and the engine image",
		append(tesVars, "ENCLAVE_TEST_DOCKER_ENGINE_IMAGE")...)
	base := env["ENCLAVE_TEST_TES_URL"]
	d := redisDeployment(t, append(tesSettings(base, env["ENCLAVE_TEST_DOCKER_ENGINE_IMAGE"]),
		"ENCLAVE_WORKER_IN_PROCESS=false")...)
	d.env = append(d.env, tesDataSettings(d, env["ENCLAVE_TEST_TES_SHARED_DIR"])...)
	d.startServer()
	d.startWorker()

	ids := map[string]string{
		"smk":     d.api.mustSubmit(exampleRequest(t, "snakemake/hello", "Snakefile", "SMK", "1.0")),
		"failing": d.api.mustSubmit(smkRequest(failingSnakefile, nil)),
	}
	took := waitRuns(d, ids, map[string]api.State{"smk": api.StateCOMPLETE, "failing": api.StateEXECUTORERROR}, time.Now())
	t.Logf("tes: 2 runs at once reached their end after %v", took)

	smk := ids["smk"]
	tasks := checkHelloSnakemake(t, d, smk)
	if _, err := os.Stat(d.workPath(smk, ".enclave-tes")); !os.IsNotExist(err) {
		t.Errorf("the executor's staging dir is still in the work dir: %v", err)
	}
	// Every task of the run ran inside its one TES task: tes_uri is that task's URL
	// (shown here: open mode lets everyone see task commands).
	wantURI := base + "/tasks/" + tesTaskID(t, base, smk)
	for _, tk := range tasks {
		if tk.TesUri != wantURI {
			t.Errorf("task %s: tes_uri %q; want %q", tk.Name, tk.TesUri, wantURI)
		}
	}
	checkNoZonePaths(t, d, smk)
	checkFailedRun(t, d, ids["failing"])
}
