package e2e

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// The tes row of TestBackendCrashSafety: Enclave's tes executor on a real Funnel 0.12.2
// (GA4GH TES), whose tasks run as containers of the engine image on the test dockerd.
// Funnel must see the deployment's data dir at the same path, and may use only its
// shared directory: the data dir is moved there (tesDataSettings).
//
// The job runs on a copy of the work dir inside its task (see executors/tes): what it
// writes reaches the run's work dir only once the task has completed and Enclave has
// delivered it. While it runs, its files are in Funnel's own work dir (tesLivePath).

var tesVars = []string{"ENCLAVE_TEST_TES_URL", "ENCLAVE_TEST_TES_SHARED_DIR", "ENCLAVE_TEST_TES_WORK_DIR"}

// tesTarget runs Enclave on the Funnel whose variables env holds, with the engine image.
func tesTarget(env map[string]string, engine string) *crashTarget {
	tg := &crashTarget{name: "tes", env: env, settings: tesSettings(env["ENCLAVE_TEST_TES_URL"], engine)}
	tg.dataSettings = func(d *deployment) []string { return tesDataSettings(d, env["ENCLAVE_TEST_TES_SHARED_DIR"]) }
	tg.live = func(t *testing.T, d *deployment, id, name string) string { return tesLivePath(t, tg, d, id, name) }
	return tg
}

func tesSettings(url, engine string) []string {
	return []string{
		"ENCLAVE_EXECUTOR_DEFAULT=tes",
		"ENCLAVE_EXECUTOR_TES_ENABLED=true",
		"ENCLAVE_EXECUTOR_TES_URL=" + url,
		"ENCLAVE_EXECUTOR_TES_IMAGE=" + engine,
		// A paused server accepts connections and answers nothing: a short request
		// timeout lets the worker see the outage soon.
		"ENCLAVE_EXECUTOR_TES_TIMEOUT=3s",
	}
}

// tesDataSettings moves d's data dir into shared, the one directory Funnel's file://
// storage may read and write, and allows the executor that data dir only. It changes
// d.dataDir, so the test finds the runs' files where Enclave puts them.
func tesDataSettings(d *deployment, shared string) []string {
	dir, err := os.MkdirTemp(shared, "e2e-")
	if err != nil {
		d.t.Fatal(err)
	}
	// Registered before any process of d starts, so it runs after they have stopped.
	d.t.Cleanup(func() { _ = os.RemoveAll(dir) })
	d.dataDir = filepath.Join(dir, "data")
	return []string{"ENCLAVE_DATA_DIR=" + d.dataDir, "ENCLAVE_EXECUTOR_TES_ALLOWED_DIRS=" + d.dataDir}
}

// sharedTESTarget: the test services' Funnel.
func sharedTESTarget(t *testing.T) *crashTarget {
	env := crashEnv(t, "the tes backend needs the test Funnel and the engine image",
		append(tesVars, "ENCLAVE_TEST_DOCKER_ENGINE_IMAGE")...)
	return tesTarget(env, env["ENCLAVE_TEST_DOCKER_ENGINE_IMAGE"])
}

// privateTESTarget starts a Funnel of the test's own (scripts/funnel.sh start) on the
// test dockerd. Down is SIGSTOP, up SIGCONT: the TES API stops answering while the
// tasks' containers go on, and then Funnel finishes the tasks. Stopping Funnel and
// starting it again on the same database would not do: its local compute backend runs
// the task workers inside the server process and does not resume them on start, so the
// tasks that were running stay RUNNING forever (checked with Funnel 0.12.2).
func privateTESTarget(t *testing.T) *crashTarget {
	env := crashEnv(t, "the tes backend needs Funnel, the test dockerd and the engine image",
		append(tesVars, "ENCLAVE_TEST_DOCKER_HOST", "ENCLAVE_TEST_DOCKER_ENGINE_IMAGE")...)
	dir := startFunnel(t, env["ENCLAVE_TEST_DOCKER_HOST"])
	tg := tesTarget(readEnvFile(t, filepath.Join(dir, "env"), tesVars...), env["ENCLAVE_TEST_DOCKER_ENGINE_IMAGE"])
	b, err := os.ReadFile(filepath.Join(dir, "funnel.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("funnel.pid %q: %v", b, err)
	}
	signal := func(t *testing.T, sig syscall.Signal) {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatalf("%v to funnel (pid %d): %v", sig, pid, err)
		}
	}
	tg.down = func(t *testing.T) { signal(t, syscall.SIGSTOP) }
	tg.up = func(t *testing.T) { signal(t, syscall.SIGCONT) }
	// Runs before funnel.sh stop (registered earlier): a stopped Funnel ignores SIGTERM.
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	return tg
}

// startFunnel runs `scripts/funnel.sh start DIR` with its tasks on dockerHost and
// `stop DIR` when the test ends; it returns DIR.
func startFunnel(t *testing.T, dockerHost string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ecf-")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(repoRoot, "scripts", "funnel.sh")
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(script, args...)
		// cleanEnv drops every ENCLAVE_* variable; funnel.sh needs these two.
		cmd.Env = append(testutil.CleanEnv(), "ENCLAVE_TEST_DOCKER_HOST="+dockerHost)
		if c := os.Getenv("ENCLAVE_CACHE"); c != "" {
			cmd.Env = append(cmd.Env, "ENCLAVE_CACHE="+c)
		}
		return cmd.CombinedOutput()
	}
	t.Cleanup(func() {
		if out, err := run("stop", dir); err != nil {
			t.Errorf("funnel.sh stop: %v\n%s", err, out)
		}
		_ = os.RemoveAll(dir)
	})
	start := time.Now()
	if out, err := run("start", dir); err != nil {
		t.Fatalf("funnel.sh start: %v\n%s", err, out)
	}
	t.Logf("funnel.sh start: %s", time.Since(start).Round(time.Millisecond))
	return dir
}

// vanishTES cancels the run's task directly through the TES API, as an operator of the
// TES server would: Enclave did not ask for it, so the run is not CANCELED but lost.
func vanishTES(t *testing.T, tg *crashTarget, _ *deployment, id string) string {
	task := tesTaskID(t, tg.env["ENCLAVE_TEST_TES_URL"], id)
	res, err := http.Post(tg.env["ENCLAVE_TEST_TES_URL"]+"/tasks/"+task+":cancel", "application/json", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /tasks/%s:cancel: HTTP %d", task, res.StatusCode)
	}
	return "the task was canceled on the TES server, not by Enclave"
}

// tesLivePath is where the file name of run id's work dir is while its task runs: in
// Funnel's work dir, <Worker.WorkDir>/<task id>/<container path> (the container path
// being the work dir's own).
func tesLivePath(t *testing.T, tg *crashTarget, d *deployment, id, name string) string {
	t.Helper()
	task := tesTaskID(t, tg.env["ENCLAVE_TEST_TES_URL"], id)
	return filepath.Join(tg.env["ENCLAVE_TEST_TES_WORK_DIR"], task, d.workPath(id, name))
}
