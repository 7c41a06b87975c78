package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// crashTarget is an Enclave deployment's view of one backend: its ENCLAVE_* settings, the
// user its processes run as, and, for a backend of the test's own, how to take it down
// and bring it back.
type crashTarget struct {
	name     string
	settings []string
	// runAs, when set, is the account the server and worker run as, with their data dir
	// under base: the slurm executor's shared workspace needs the cluster's jobs (run as
	// the SSH login) and the worker to own the same files.
	runAs *syscall.Credential
	base  string
	home  string // runAs's home directory
	bin   string // the enclave binary, where runAs can execute it
	// env holds the test service's variables (ENCLAVE_TEST_*), e.g. DOCKER_HOST's value.
	env      map[string]string
	down, up func(t *testing.T)
	// dataSettings, when set, are more settings that depend on the deployment's data dir.
	dataSettings func(d *deployment) []string
	// k8s is the namespace and node of the kubernetes backend.
	k8s *k8sCluster
	// live, when set, is where a file that run id's job writes in its work dir can be
	// seen while the job runs; nil: in the work dir itself. (The tes executor's jobs run
	// on a copy of the work dir, which comes back when they complete.)
	live func(t *testing.T, d *deployment, id, name string) string
}

// livePath is where the file name that run id's job writes in its work dir can be seen
// while the job runs.
func (tg *crashTarget) livePath(t *testing.T, d *deployment, id, name string) string {
	if tg.live == nil {
		return d.workPath(id, name)
	}
	return tg.live(t, d, id, name)
}

// crashEnv requires the named test variables: without one the test fails under CI and
// skips elsewhere, saying why.
func crashEnv(t *testing.T, why string, names ...string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, n := range names {
		if env[n] = os.Getenv(n); env[n] == "" {
			msg := fmt.Sprintf("%s is unset: %s (run under scripts/test-services.sh)", n, why)
			if os.Getenv("CI") != "" {
				t.Fatal(msg + "; CI needs it")
			}
			t.Skip("SKIP: " + msg)
		}
	}
	return env
}

func localTarget(*testing.T) *crashTarget { return &crashTarget{name: "local"} }

var dockerVars = []string{"ENCLAVE_TEST_DOCKER_HOST", "ENCLAVE_TEST_DOCKER_ENGINE_IMAGE"}

func dockerTarget(env map[string]string) *crashTarget {
	return &crashTarget{name: "docker", env: env, settings: []string{
		"ENCLAVE_EXECUTOR_DEFAULT=docker",
		"ENCLAVE_EXECUTOR_DOCKER_ENABLED=true",
		"ENCLAVE_EXECUTOR_DOCKER_HOST=" + env["ENCLAVE_TEST_DOCKER_HOST"],
		"ENCLAVE_EXECUTOR_DOCKER_IMAGE=" + env["ENCLAVE_TEST_DOCKER_ENGINE_IMAGE"],
		"ENCLAVE_EXECUTOR_DOCKER_GRACE=3s",
	}}
}

func sharedDockerTarget(t *testing.T) *crashTarget {
	return dockerTarget(crashEnv(t, "the docker backend needs the test dockerd and its engine image", dockerVars...))
}

// privateDockerTarget starts a dockerd of the test's own (scripts/docker.sh), which the
// test may stop and start again without disturbing the other suites' engine.
func privateDockerTarget(t *testing.T) *crashTarget {
	crashEnv(t, "the docker backend needs dockerd and the engine image", dockerVars...)
	dir := crashScript(t, "docker.sh", "ecd")
	tg := dockerTarget(readEnvFile(t, filepath.Join(dir, "env"), dockerVars...))
	tg.down = func(t *testing.T) { crashRun(t, filepath.Join(repoRoot, "scripts", "docker.sh"), "pause", dir) }
	tg.up = func(t *testing.T) { crashRun(t, filepath.Join(repoRoot, "scripts", "docker.sh"), "resume", dir) }
	return tg
}

var slurmVars = []string{"ENCLAVE_TEST_SLURM_SSH_ADDR", "ENCLAVE_TEST_SLURM_SSH_USER", "ENCLAVE_TEST_SLURM_SSH_KEY",
	"ENCLAVE_TEST_SLURM_SSH_KNOWN_HOSTS", "ENCLAVE_TEST_SLURM_WORKDIR"}

// slurmTarget runs Enclave as the cluster login with the shared workspace: its data dir
// is in the cluster's work root, its key a copy the login may read.
func slurmTarget(t *testing.T, env map[string]string) *crashTarget {
	t.Helper()
	u, err := user.Lookup(env["ENCLAVE_TEST_SLURM_SSH_USER"])
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	base, err := os.MkdirTemp(env["ENCLAVE_TEST_SLURM_WORKDIR"], "crash-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	tg := &crashTarget{name: "slurm", env: env, base: base, home: u.HomeDir,
		runAs: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	// Copies the login can read: the test services keep theirs in a directory only root
	// may enter.
	key, knownHosts := filepath.Join(base, "key"), filepath.Join(base, "known_hosts")
	copyFile(t, env["ENCLAVE_TEST_SLURM_SSH_KEY"], key, 0o600)
	copyFile(t, env["ENCLAVE_TEST_SLURM_SSH_KNOWN_HOSTS"], knownHosts, 0o644)
	tg.bin = filepath.Join(base, "enclave")
	copyFile(t, enclaveBin, tg.bin, 0o755)
	for _, p := range []string{base, key, knownHosts, tg.bin} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	tg.settings = []string{
		"ENCLAVE_EXECUTOR_DEFAULT=slurm",
		"ENCLAVE_EXECUTOR_SLURM_ENABLED=true",
		"ENCLAVE_EXECUTOR_SLURM_MODE=ssh",
		"ENCLAVE_EXECUTOR_SLURM_SSH_ADDR=" + env["ENCLAVE_TEST_SLURM_SSH_ADDR"],
		"ENCLAVE_EXECUTOR_SLURM_SSH_USER=" + u.Username,
		"ENCLAVE_EXECUTOR_SLURM_SSH_KEY_FILE=" + key,
		"ENCLAVE_EXECUTOR_SLURM_SSH_KNOWN_HOSTS_FILE=" + knownHosts,
		"ENCLAVE_EXECUTOR_SLURM_SSH_KEEP_ALIVE=1s",
	}
	return tg
}

func sharedSlurmTarget(t *testing.T) *crashTarget {
	return slurmTarget(t, crashEnv(t, "the slurm backend needs the test cluster", slurmVars...))
}

// privateSlurmTarget starts an sshd of the test's own in front of the shared SLURM
// (scripts/slurm.sh start), so that stopping it cuts only this test off the cluster.
func privateSlurmTarget(t *testing.T) *crashTarget {
	crashEnv(t, "the slurm backend needs the test cluster", slurmVars...)
	dir := crashScript(t, "slurm.sh", "ecs")
	tg := slurmTarget(t, readEnvFile(t, filepath.Join(dir, "env"), slurmVars...))
	tg.down = func(t *testing.T) { crashRun(t, filepath.Join(repoRoot, "scripts", "slurm.sh"), "pause-sshd", dir) }
	tg.up = func(t *testing.T) { crashRun(t, filepath.Join(repoRoot, "scripts", "slurm.sh"), "resume-sshd", dir) }
	return tg
}

// vanishDocker removes the run's container, as an operator's `docker rm -f` would.
func vanishDocker(t *testing.T, tg *crashTarget, _ *deployment, id string) string {
	cmd := exec.Command("docker", "rm", "-f", "enclave-"+id)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+tg.env["ENCLAVE_TEST_DOCKER_HOST"])
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker rm -f: %v\n%s", err, out)
	}
	return "the job's container no longer exists on the container engine"
}

// vanishLocal kills the job's supervisor (the local executor's shim) with SIGKILL.
func vanishLocal(t *testing.T, _ *crashTarget, d *deployment, id string) string {
	b, err := os.ReadFile(filepath.Join(d.dataDir, "executor", "local", id, "shim.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.PID <= 1 {
		t.Fatalf("shim.json %q: %v", b, err)
	}
	if err := syscall.Kill(rec.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	return "the job's supervisor process ended without recording an exit status"
}

// deployment is a Redis deployment on the target's backend.
func (tg *crashTarget) deployment(t *testing.T, settings ...string) *deployment {
	d := redisDeployment(t, append(settings, tg.settings...)...)
	if tg.runAs != nil {
		dir, err := os.MkdirTemp(tg.base, "d-")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, int(tg.runAs.Uid), int(tg.runAs.Gid)); err != nil {
			t.Fatal(err)
		}
		d.dir, d.dataDir = dir, filepath.Join(dir, "data")
		d.env = append(d.env, "ENCLAVE_DATA_DIR="+d.dataDir) // the last one counts
	}
	if tg.dataSettings != nil {
		d.env = append(d.env, tg.dataSettings(d)...)
	}
	return d
}

func (tg *crashTarget) startServer(d *deployment) *process {
	if tg.runAs == nil {
		return d.startServer()
	}
	p := tg.start(d, "server", append([]string{"server"}, d.args...)...)
	d.api.hc.CloseIdleConnections()
	eventually(d.t, readyTimeout, "the server answers service-info", func() (bool, string) {
		if p.exited() {
			d.t.Fatalf("enclave server exited before it answered service-info: %v", p.exitErr())
		}
		_, err := d.api.c.ServiceInfo(context.Background())
		return err == nil, fmt.Sprint(err)
	})
	return p
}

func (tg *crashTarget) startWorker(d *deployment) *process {
	if tg.runAs == nil {
		return d.startWorker()
	}
	return tg.start(d, "worker", "worker")
}

// start is deployment.start for a process that runs as tg.runAs.
func (tg *crashTarget) start(d *deployment, role string, args ...string) *process {
	t := d.t
	t.Helper()
	n := d.started.Add(1)
	p := &process{name: fmt.Sprintf("%s #%d", role, n), done: make(chan struct{})}
	p.logPath = filepath.Join(d.logDir, fmt.Sprintf("%02d-%s.log", n, role))
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(tg.bin, args...)
	p.cmd.Dir = d.dir
	p.cmd.Env = append(append(testutil.CleanEnv(), "HOME="+tg.home, "USER="+tg.env["ENCLAVE_TEST_SLURM_SSH_USER"]), d.env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: tg.runAs}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", p.name, err)
	}
	logf.Close()
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		crashed := p.exited() && !p.stopped.Load()
		p.stop(t)
		if crashed {
			t.Errorf("%s exited on its own: %v", p.name, p.err)
		}
		if t.Failed() || os.Getenv("E2E_SHOW_LOGS") != "" {
			t.Logf("---- log of %s (%s) ----\n%s", p.name, strings.Join(args, " "), testutil.TailFile(p.logPath, 64<<10))
		}
	})
	return p
}

// crashScript runs `scripts/NAME start DIR` in a fresh short directory (sockets live
// there) and `stop DIR` when the test ends; it returns DIR.
func crashScript(t *testing.T, name, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(repoRoot, "scripts", name)
	t.Cleanup(func() {
		if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("%s stop: %v\n%s", name, err, out)
		}
		_ = os.RemoveAll(dir)
	})
	start := time.Now()
	crashRun(t, script, "start", dir)
	t.Logf("%s start: %s", name, time.Since(start).Round(time.Millisecond))
	return dir
}

func crashRun(t *testing.T, script string, args ...string) {
	t.Helper()
	cmd := exec.Command(script, args...)
	cmd.Env = testutil.CleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(script), strings.Join(args, " "), err, out)
	}
}

// readEnvFile reads KEY=VALUE lines and requires the named keys.
func readEnvFile(t *testing.T, path string, need ...string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	for s := bufio.NewScanner(f); s.Scan(); {
		if k, v, ok := strings.Cut(s.Text(), "="); ok {
			env[k] = v
		}
	}
	for _, k := range need {
		if env[k] == "" {
			t.Fatalf("%s does not set %s", path, k)
		}
	}
	return env
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
