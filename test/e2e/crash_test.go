package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
)

// A worker killed with SIGKILL while its run is RUNNING loses nothing: the job goes on
// under its own supervisor, a new worker re-attaches to it, and the workflow runs once.
func TestWorkerKilledMidRun(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	d := redisDeployment(t, "ENCLAVE_WORKER_IN_PROCESS=false")
	d.startServer()
	w1 := d.startWorker()

	id := d.api.mustSubmit(smkRequest(onceSnakefile, map[string]any{"sleep": 5}))
	d.api.waitState(id, runTimeout, api.StateRUNNING)
	waitFile(t, d.workPath(id, "attempts.txt"))
	w1.kill9(t)

	d.startWorker()
	d.api.waitState(id, recoverTimeout, api.StateCOMPLETE)
	checkRanOnce(t, d, id)
}

// The whole server (API and in-process worker) killed with SIGKILL, then restarted with
// the same configuration: a run killed inside its start step, one that was RUNNING and
// one whose POST had just been answered all complete, each having run once.
func TestServerKilled(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	// First, as it waits longest: this file's name sorts first for the same reason.
	t.Run("during the start step", func(t *testing.T) {
		t.Parallel()
		d := redisDeployment(t)
		srv := d.startServer()
		id := d.api.mustSubmit(smkRequest(onceSnakefile, map[string]any{"sleep": 1}))
		// The start step holds the run INITIALIZING for the ~100 ms it takes to prepare
		// and submit the job: poll without pause to kill the server inside it.
		st := d.api.state(id)
		for deadline := time.Now().Add(30 * time.Second); st == api.StateQUEUED && time.Now().Before(deadline); {
			st = d.api.state(id)
		}
		srv.kill9(t)
		if st != api.StateINITIALIZING {
			t.Logf("the kill missed the start step: the run was %s", st)
		}

		d.startServer()
		d.api.waitState(id, recoverTimeout, api.StateCOMPLETE)
		checkRanOnce(t, d, id)
	})
	t.Run("while running", func(t *testing.T) {
		t.Parallel()
		d := redisDeployment(t)
		srv := d.startServer()
		id := d.api.mustSubmit(smkRequest(onceSnakefile, map[string]any{"sleep": 5}))
		d.api.waitState(id, runTimeout, api.StateRUNNING)
		waitFile(t, d.workPath(id, "attempts.txt"))
		srv.kill9(t)

		d.startServer()
		d.api.waitState(id, recoverTimeout, api.StateCOMPLETE)
		checkRanOnce(t, d, id)
	})
	t.Run("right after submit", func(t *testing.T) {
		t.Parallel()
		d := redisDeployment(t)
		srv := d.startServer()
		id := d.api.mustSubmit(smkRequest(onceSnakefile, map[string]any{"sleep": 1}))
		srv.kill9(t)

		d.startServer()
		// The start step may have been cut off half-way; it is then redelivered only
		// after its asynq lease has expired, hence the long deadline.
		d.api.waitState(id, recoverTimeout, api.StateCOMPLETE)
		checkRanOnce(t, d, id)
	})
}

// checkRanOnce requires the onceSnakefile run id to have started its job exactly once
// and to list its output.
func checkRanOnce(t *testing.T, d *deployment, id string) {
	t.Helper()
	if got := lines(t, d.workPath(id, "attempts.txt")); len(got) != 1 {
		t.Errorf("attempts.txt has %d lines %q; want 1: the workflow must run exactly once", len(got), got)
	}
	if _, ok := d.api.runLog(id).Outputs["done.txt"]; !ok {
		t.Errorf("outputs %v; want done.txt", d.api.runLog(id).Outputs)
	}
}

// waitFile waits until the file exists.
func waitFile(t *testing.T, path string) {
	t.Helper()
	eventually(t, time.Minute, path+" exists", func() (bool, string) {
		_, err := os.Stat(path)
		return err == nil, errString(err)
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
