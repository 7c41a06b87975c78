package e2e

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
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
	start := time.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		took = map[string]time.Duration{}
	)
	for name, want := range map[string]api.State{"smk": api.StateCOMPLETE, "failing": api.StateEXECUTORERROR} {
		wg.Go(func() {
			d.api.waitState(ids[name], runTimeout, want)
			mu.Lock()
			took[name] = time.Since(start).Round(time.Millisecond)
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("kubernetes: 2 runs at once reached their end after %v", took)

	rl := d.api.runLog(ids["smk"])
	if got := sortedKeys(rl.Outputs); !slices.Equal(got, []string{"results/greeting.txt", "results/shout.txt"}) {
		t.Errorf("snakemake outputs %v; want results/greeting.txt and results/shout.txt", got)
	}
	for file, want := range map[string]string{"greeting.txt": "Hello, Ada!\n", "shout.txt": "HELLO, ADA!\n"} {
		if b, err := os.ReadFile(d.workPath(ids["smk"], "results", file)); err != nil || string(b) != want {
			t.Errorf("%s in the data dir: %q, %v; want %q", file, b, err, want)
		}
	}
	if rl.RunLog.ExitCode == nil || *rl.RunLog.ExitCode != 0 {
		t.Errorf("snakemake exit code %v; want 0", rl.RunLog.ExitCode)
	}
	var names []string
	for _, tk := range d.api.tasks(ids["smk"]) {
		names = append(names, tk.Name)
	}
	if !slices.Contains(names, "greet") || !slices.Contains(names, "shout") {
		t.Errorf("snakemake tasks %v; want greet and shout", names)
	}
	// The log came from the pod through the API server's pods/log, stream by stream.
	if code, text := d.api.get("/runs/" + ids["smk"] + "/logs/stderr"); code != http.StatusOK || !strings.Contains(string(text), "rule greet") {
		t.Errorf("GET logs/stderr: %d %q; want Snakemake's report", code, text)
	}
	if code, text := d.api.get("/runs/" + ids["smk"] + "/logs/stdout"); code != http.StatusOK || strings.Contains(string(text), "rule greet") {
		t.Errorf("GET logs/stdout: %d %q; want 200 without Snakemake's stderr report", code, text)
	}
	checkNoZonePaths(t, d, ids["smk"])

	frl := d.api.runLog(ids["failing"])
	if frl.RunLog.ExitCode == nil || *frl.RunLog.ExitCode == 0 {
		t.Errorf("failing run exit code %v; want non-zero", frl.RunLog.ExitCode)
	}
	if code, text := d.api.get("/runs/" + ids["failing"] + "/logs/stderr"); code != http.StatusOK || !strings.Contains(string(text), "failing on purpose") {
		t.Errorf("failing run's stderr: %d %q; want the failing command's message", code, text)
	}

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
