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
	t.Logf("tes: 2 runs at once reached their end after %v", took)

	smk := ids["smk"]
	rl := d.api.runLog(smk)
	if got := sortedKeys(rl.Outputs); !slices.Equal(got, []string{"results/greeting.txt", "results/shout.txt"}) {
		t.Errorf("snakemake outputs %v; want results/greeting.txt and results/shout.txt", got)
	}
	for file, want := range map[string]string{"greeting.txt": "Hello, Ada!\n", "shout.txt": "HELLO, ADA!\n"} {
		if b, err := os.ReadFile(d.workPath(smk, "results", file)); err != nil || string(b) != want {
			t.Errorf("%s in the data dir: %q, %v; want %q", file, b, err, want)
		}
	}
	if _, err := os.Stat(d.workPath(smk, ".enclave-tes")); !os.IsNotExist(err) {
		t.Errorf("the executor's staging dir is still in the work dir: %v", err)
	}
	if rl.RunLog.ExitCode == nil || *rl.RunLog.ExitCode != 0 {
		t.Errorf("snakemake exit code %v; want 0", rl.RunLog.ExitCode)
	}
	// Every task of the run ran inside its one TES task: tes_uri is that task's URL
	// (shown here: open mode lets everyone see task commands).
	wantURI := base + "/tasks/" + tesTaskID(t, base, smk)
	var names []string
	for _, tk := range d.api.tasks(smk) {
		names = append(names, tk.Name)
		if tk.TesUri != wantURI {
			t.Errorf("task %s: tes_uri %q; want %q", tk.Name, tk.TesUri, wantURI)
		}
	}
	if !slices.Contains(names, "greet") || !slices.Contains(names, "shout") {
		t.Errorf("snakemake tasks %v; want greet and shout", names)
	}
	if code, text := d.api.get("/runs/" + smk + "/logs/stderr"); code != http.StatusOK || !strings.Contains(string(text), "rule greet") {
		t.Errorf("GET logs/stderr: %d %q; want Snakemake's report", code, text)
	}
	checkNoZonePaths(t, d, smk)

	frl := d.api.runLog(ids["failing"])
	if frl.RunLog.ExitCode == nil || *frl.RunLog.ExitCode == 0 {
		t.Errorf("failing run exit code %v; want non-zero", frl.RunLog.ExitCode)
	}
	if code, text := d.api.get("/runs/" + ids["failing"] + "/logs/stderr"); code != http.StatusOK || !strings.Contains(string(text), "failing on purpose") {
		t.Errorf("failing run's stderr: %d %q; want the failing command's message", code, text)
	}
}
