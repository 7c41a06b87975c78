package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
)

// The real enclave binary, as a server and a separate worker on Redis, runs the Snakemake
// example through the WES API on the kubernetes executor: a batch/v1 Job per run on the
// test control plane, its pod run by this test's node agent (the real snakemake, as a
// host process). The example completes with its outputs, tasks and Snakemake's report
// on stderr (stdout and stderr read apart through the API server: split_log_streams); a
// failing workflow ends EXECUTOR_ERROR with its exit code and its stderr; the Jobs are
// deleted once their runs are finalized.
func TestKubernetesExecutorEndToEnd(t *testing.T) {
	begin(t, "snakemake")
	env := crashEnv(t, "the kubernetes executor needs the test control plane", k8sVars...)
	c := startK8s(t, env["ENCLAVE_TEST_KUBECONFIG"])
	d := redisDeployment(t, append(c.settings(), "ENCLAVE_WORKER_IN_PROCESS=false",
		"ENCLAVE_EXECUTOR_KUBERNETES_SPLIT_LOG_STREAMS=true")...)
	d.env = append(d.env, k8sDataSettings(d)...)
	d.startServer()
	d.startWorker()

	ids := map[string]string{
		"smk":     d.api.mustSubmit(exampleRequest(t, "snakemake/hello", "Snakefile", "SMK", "1.0")),
		"failing": d.api.mustSubmit(smkRequest(failingSnakefile, nil)),
	}
	took := waitRuns(d, ids, map[string]api.State{"smk": api.StateCOMPLETE, "failing": api.StateEXECUTORERROR}, time.Now())
	t.Logf("kubernetes: 2 runs at once reached their end after %v", took)

	checkHelloSnakemake(t, d, ids["smk"])
	// The log came from the pod through the API server's pods/log, stream by stream:
	// checkHelloSnakemake found Snakemake's report on stderr, and it is not on stdout.
	if text, err := d.api.readLog(ids["smk"], "stdout"); err != nil || strings.Contains(string(text), "rule greet") {
		t.Errorf("GET logs/stdout: %v %q; want 200 without Snakemake's stderr report", err, text)
	}
	checkNoZonePaths(t, d, ids["smk"])

	checkFailedRun(t, d, ids["failing"])

	// Finalizing a run deletes its Job (executor Cleanup).
	eventually(t, 30*time.Second, "the runs' Jobs are deleted", func() (bool, string) {
		for name, id := range ids {
			if n := len(c.runJobs(t, id)); n != 0 {
				return false, name + " still has its Job"
			}
		}
		return true, ""
	})
}
