package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// crashBackend is one executor backend of the crash-safety suite: how to run Enclave on
// it, and how to hurt it.
type crashBackend struct {
	name string
	// shared returns a target on the backend every test of the run shares (the test
	// services); it fails under CI, and skips elsewhere, without them.
	shared func(t *testing.T) *crashTarget
	// private returns a target on a backend of the test's own, which the outage case may
	// take down and bring back. nil: the backend cannot be down (local).
	private func(t *testing.T) *crashTarget
	// vanish removes the job of run id behind Enclave's back and returns what the run's
	// system log must then say. nil: not done for this backend.
	vanish func(t *testing.T, tg *crashTarget, d *deployment, id string) string
}

func crashBackends() []crashBackend {
	return []crashBackend{
		{name: "local", shared: localTarget, vanish: vanishLocal},
		{name: "docker", shared: sharedDockerTarget, private: privateDockerTarget, vanish: vanishDocker},
		{name: "slurm", shared: sharedSlurmTarget, private: privateSlurmTarget},
		{name: "kubernetes", shared: sharedK8sTarget, private: privateK8sTarget, vanish: vanishK8s},
		{name: "tes", shared: sharedTESTarget, private: privateTESTarget, vanish: vanishTES},
	}
}

// Crash safety on every backend, with the real binary, real Redis and the real backend:
// a worker killed with SIGKILL while runs are live, the backend out of reach for a while,
// and a job removed behind Enclave's back. The backends run in parallel, the cases of
// one backend one after the other.
func TestBackendCrashSafety(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	for _, b := range crashBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			t.Run("worker killed", func(t *testing.T) { crashWorkerKilled(t, b.shared(t)) })
			t.Run("backend down", func(t *testing.T) {
				if b.private == nil {
					t.Logf("the %s executor has no backend that can be out of reach", b.name)
					return
				}
				crashBackendDown(t, b.private(t))
			})
			t.Run("job vanished", func(t *testing.T) {
				if b.vanish == nil {
					t.Logf("removing a %s job behind Enclave's back is not simulated", b.name)
					return
				}
				tg := b.shared(t)
				crashJobVanished(t, tg, func(d *deployment, id string) string { return b.vanish(t, tg, d, id) })
			})
		})
	}
}

// crashWorkerKilled: several runs live, the worker killed with SIGKILL, a new worker
// started: every run completes, its workflow having run exactly once.
func crashWorkerKilled(t *testing.T, tg *crashTarget) {
	d := tg.deployment(t, "ENCLAVE_WORKER_IN_PROCESS=false")
	tg.startServer(d)
	w1 := tg.startWorker(d)
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = d.api.mustSubmit(smkRequest(onceSnakefile, map[string]any{"sleep": 6}))
	}
	for _, id := range ids {
		d.api.waitState(id, runTimeout, api.StateRUNNING)
	}
	// At least one job has begun its work (a backend with fewer slots queues the others).
	crashWaitAny(t, tg, d, ids, "attempts.txt")
	w1.kill9(t)
	killed := time.Now()

	tg.startWorker(d)
	for _, id := range ids {
		d.api.waitState(id, recoverTimeout, api.StateCOMPLETE)
		checkRanOnce(t, d, id)
	}
	t.Logf("%s: %d runs completed %s after the worker was killed", tg.name, len(ids), time.Since(killed).Round(time.Millisecond))
}

// crashBackendDown: runs live, the backend out of reach: the runs stay RUNNING, even once
// their jobs have ended, and the worker says it retries; the backend back, they complete.
func crashBackendDown(t *testing.T, tg *crashTarget) {
	// A short reconcile interval keeps the backoff's cap (30 intervals) short.
	d := tg.deployment(t, "ENCLAVE_WORKER_IN_PROCESS=false", "ENCLAVE_WORKER_RECONCILE_INTERVAL=200ms")
	tg.startServer(d)
	w := tg.startWorker(d)
	ids := []string{
		d.api.mustSubmit(smkRequest(onceSnakefile, map[string]any{"sleep": 4})),
		d.api.mustSubmit(smkRequest(onceSnakefile, map[string]any{"sleep": 4})),
	}
	for _, id := range ids {
		d.api.waitState(id, runTimeout, api.StateRUNNING)
		waitFile(t, tg.livePath(t, d, id, "attempts.txt"))
	}
	tg.down(t)
	down := time.Now()
	eventually(t, time.Minute, "the worker logs that the executor is unreachable", func() (bool, string) {
		return strings.Contains(testutil.TailFile(w.logPath, 1<<20), "executor unreachable"), "no such line yet"
	})
	// The jobs go on without the worker seeing them, and end: their runs cannot know.
	for _, id := range ids {
		waitFile(t, tg.livePath(t, d, id, "done.txt"))
	}
	for _, id := range ids {
		if st := d.api.state(id); st != api.StateRUNNING {
			t.Fatalf("run %s is %s while its backend is out of reach; want RUNNING", id, st)
		}
	}
	tg.up(t)
	back := time.Now()
	for _, id := range ids {
		d.api.waitState(id, runTimeout, api.StateCOMPLETE)
		checkRanOnce(t, d, id)
	}
	if log := testutil.TailFile(w.logPath, 1<<20); !strings.Contains(log, "executor reachable again") {
		t.Errorf("the worker never logged that the executor was reachable again")
	} else if n := strings.Count(log, "executor unreachable"); n != 1 {
		t.Errorf("the worker warned %d times that the executor was unreachable during one outage; want once", n)
	}
	t.Logf("%s: down for %s; the runs completed %s after the backend was back", tg.name,
		back.Sub(down).Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
}

// crashJobVanished: a running job removed behind Enclave's back ends its run in
// SYSTEM_ERROR, with a message saying so.
func crashJobVanished(t *testing.T, tg *crashTarget, vanish func(*deployment, string) string) {
	d := tg.deployment(t)
	tg.startServer(d)
	id := d.api.mustSubmit(smkRequest(onceSnakefile, map[string]any{"sleep": 60}))
	d.api.waitState(id, runTimeout, api.StateRUNNING)
	waitFile(t, tg.livePath(t, d, id, "attempts.txt"))
	want := vanish(d, id)
	removed := time.Now()
	d.api.waitState(id, runTimeout, api.StateSYSTEMERROR)
	logs := d.api.runLog(id).RunLog.SystemLogs
	if !strings.Contains(strings.Join(logs, "\n"), "the job vanished from the executor: "+want) {
		t.Errorf("system logs %q; want one saying the job vanished: %q", logs, want)
	}
	t.Logf("%s: SYSTEM_ERROR %s after the job was removed", tg.name, time.Since(removed).Round(time.Millisecond))
}

// crashWaitAny waits until one of the runs' jobs has written the file.
func crashWaitAny(t *testing.T, tg *crashTarget, d *deployment, ids []string, file string) {
	t.Helper()
	eventually(t, runTimeout, "a run has begun its work", func() (bool, string) {
		for _, id := range ids {
			if _, err := os.Stat(tg.livePath(t, d, id, file)); err == nil {
				return true, ""
			}
		}
		return false, fmt.Sprintf("no %s in %d work dirs", file, len(ids))
	})
}
