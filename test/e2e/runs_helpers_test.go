package e2e

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
)

// waitRuns waits, for all runs at once, until each named run (ids) reaches its wanted
// state (want), and returns how long each took from start.
func waitRuns(d *deployment, ids map[string]string, want map[string]api.State, start time.Time) map[string]time.Duration {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		took = map[string]time.Duration{}
	)
	for name, st := range want {
		wg.Go(func() {
			d.api.waitState(ids[name], runTimeout, st)
			mu.Lock()
			took[name] = time.Since(start).Round(time.Millisecond)
			mu.Unlock()
		})
	}
	wg.Wait()
	return took
}

// checkHelloSnakemake checks a COMPLETE run of examples/snakemake/hello: its two outputs
// with their contents in the data dir, exit code 0, the tasks greet and shout, and
// Snakemake's report on stderr. It returns the run's tasks for further checks.
func checkHelloSnakemake(t *testing.T, d *deployment, id string) []api.TaskLog {
	t.Helper()
	rl := d.api.runLog(id)
	if got := sortedKeys(rl.Outputs); !slices.Equal(got, []string{"results/greeting.txt", "results/shout.txt"}) {
		t.Errorf("snakemake outputs %v; want results/greeting.txt and results/shout.txt", got)
	}
	for file, want := range map[string]string{"greeting.txt": "Hello, Ada!\n", "shout.txt": "HELLO, ADA!\n"} {
		if b, err := os.ReadFile(d.workPath(id, "results", file)); err != nil || string(b) != want {
			t.Errorf("%s in the worker's data dir: %q, %v; want %q", file, b, err, want)
		}
	}
	if rl.RunLog.ExitCode == nil || *rl.RunLog.ExitCode != 0 {
		t.Errorf("snakemake exit code %v; want 0", rl.RunLog.ExitCode)
	}
	tasks := d.api.tasks(id)
	var names []string
	for _, tk := range tasks {
		names = append(names, tk.Name)
	}
	if !slices.Contains(names, "greet") || !slices.Contains(names, "shout") {
		t.Errorf("snakemake tasks %v; want greet and shout", names)
	}
	checkStderr(t, d, id, "rule greet")
	return tasks
}

// checkFailedRun checks a run of failingSnakefile: a non-zero exit code and the failing
// command's message on its stderr.
func checkFailedRun(t *testing.T, d *deployment, id string) {
	t.Helper()
	rl := d.api.runLog(id)
	if rl.RunLog.ExitCode == nil || *rl.RunLog.ExitCode == 0 {
		t.Errorf("failing run exit code %v; want non-zero", rl.RunLog.ExitCode)
	}
	checkStderr(t, d, id, "failing on purpose")
}

// checkStderr checks that GET /runs/{id}/logs/stderr answers 200 and contains text.
func checkStderr(t *testing.T, d *deployment, id, text string) {
	t.Helper()
	if b, err := d.api.readLog(id, "stderr"); err != nil || !strings.Contains(string(b), text) {
		t.Errorf("GET logs/stderr of %s: %v %q; want it to contain %q", id, err, b, text)
	}
}
