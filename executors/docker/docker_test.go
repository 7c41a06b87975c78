package docker_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/docker"
	"github.com/spe4hd/enclave/executors/executortest"
	"github.com/spe4hd/enclave/pkg/wes"
)

// engine returns the test engine's address and image (scripts/test-services.sh starts
// it); the test skips without one, and fails under CI=true.
func engine(t *testing.T) (host, image string) {
	t.Helper()
	host, image = os.Getenv("ENCLAVE_TEST_DOCKER_HOST"), os.Getenv("ENCLAVE_TEST_DOCKER_IMAGE")
	if host == "" || image == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ENCLAVE_TEST_DOCKER_HOST/IMAGE unset: CI needs the test dockerd (scripts/test-services.sh)")
		}
		t.Skip("SKIP: no test dockerd (run under scripts/test-services.sh with docker.io installed)")
	}
	return host, image
}

func newExecutor(t *testing.T, edit func(*docker.Config)) *docker.Executor {
	t.Helper()
	host, image := engine(t)
	cfg := docker.Config{Host: host, Image: image, Grace: time.Second, Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ex, err := docker.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	return ex
}

// newJob runs script with the image's sh in a fresh work dir writable by the container's
// non-root user; the log dir does not exist yet.
func newJob(t *testing.T, id, script string) *wes.Job {
	t.Helper()
	root := t.TempDir()
	work := filepath.Join(root, "work")
	if err := os.Mkdir(work, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(work, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	return &wes.Job{ID: id, Argv: []string{"sh", "-c", script}, WorkDir: work,
		Stdout: filepath.Join(root, "logs", "stdout.log"), Stderr: filepath.Join(root, "logs", "stderr.log")}
}

func TestConformance(t *testing.T) {
	ex := newExecutor(t, nil)
	executortest.Run(t, ex, executortest.Options{
		NewJob: newJob,
		Fresh:  func(t *testing.T) wes.Executor { return newExecutor(t, nil) },
	})
}

func run(t *testing.T, ex *docker.Executor, job *wes.Job) (wes.Handle, wes.JobStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cleanup(context.Background(), h) })
	for {
		st, err := ex.Status(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if st.State.Ended() {
			return h, st
		}
		if ctx.Err() != nil {
			t.Fatalf("job not ended: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The container has no network but loopback, runs as nobody, cannot write its root file
// system, has no capabilities, and sees its work dir at WorkMount and datasets read-only.
func TestConfinement(t *testing.T) {
	roots := t.TempDir()
	data := filepath.Join(roots, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "in.txt"), []byte("dataset\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ex := newExecutor(t, func(c *docker.Config) {
		c.WorkMount = "/work"
		c.DatasetRoots = []string{roots}
	})
	job := newJob(t, "confine-"+strings.ReplaceAll(t.Name(), "/", "-"), strings.Join([]string{
		"echo net: $(ls /sys/class/net)",
		"echo id: $(id -u):$(id -g)",
		"echo pwd: $(pwd)",
		"touch /rootfs-write 2>/dev/null && echo root: writable || echo root: read-only",
		"touch " + data + "/x 2>/dev/null && echo data: writable || echo data: read-only",
		"echo data: $(cat " + data + "/in.txt)",
		"touch /tmp/x && echo tmp: writable",
		"echo cap: $(grep CapEff /proc/self/status)",
		"echo out > here.txt",
		"echo to-stderr >&2",
	}, "\n"))
	job.Env = map[string]string{"FOO": "bar baz"}
	job.Datasets = []wes.DatasetMount{{ID: "cohort", Path: data}}
	_, st := run(t, ex, job)
	if st.State != wes.JobSucceeded {
		t.Fatalf("status = %+v; stderr %s", st, readFile(t, job.Stderr))
	}
	out := readFile(t, job.Stdout)
	for _, want := range []string{"net: lo\n", "id: 65534:65534\n", "pwd: /work\n", "root: read-only\n",
		"data: read-only\n", "data: dataset\n", "tmp: writable\n", "cap: CapEff: 0000000000000000\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if got := readFile(t, job.Stderr); got != "to-stderr\n" {
		t.Errorf("stderr = %q", got)
	}
	if got := readFile(t, filepath.Join(job.WorkDir, "here.txt")); got != "out\n" {
		t.Errorf("work dir file = %q", got)
	}
}

func TestEnvAndLimits(t *testing.T) {
	ex := newExecutor(t, nil)
	job := newJob(t, "env-"+time.Now().Format("150405.000000"), "echo \"$FOO\"; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
	job.Env = map[string]string{"FOO": "bar baz"}
	job.Resources = wes.Resources{MemoryMB: 64, CPUs: 1}
	_, st := run(t, ex, job)
	if st.State != wes.JobSucceeded {
		t.Fatalf("status = %+v", st)
	}
	if got, want := readFile(t, job.Stdout), "bar baz\n67108864\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestTimeLimit(t *testing.T) {
	ex := newExecutor(t, nil)
	job := newJob(t, "slow-"+time.Now().Format("150405.000000"), "while :; do sleep 0.05; done")
	job.Resources.TimeLimit = 300 * time.Millisecond
	_, st := run(t, ex, job)
	if st.State != wes.JobFailed || !strings.Contains(st.Message, "time limit") {
		t.Fatalf("status = %+v, want failed with a time-limit message", st)
	}
}

func TestCommandNotFound(t *testing.T) {
	ex := newExecutor(t, nil)
	job := newJob(t, "nocmd-"+time.Now().Format("150405.000000"), "")
	job.Argv = []string{"no-such-command-for-enclave"}
	_, st := run(t, ex, job)
	if st.State != wes.JobFailed || !strings.Contains(st.Message, "not found") {
		t.Fatalf("status = %+v, want failed, command not found", st)
	}
}

func TestLogsAndCleanup(t *testing.T) {
	ex := newExecutor(t, nil)
	job := newJob(t, "logs-"+time.Now().Format("150405.000000"), "echo live; while [ ! -e release ]; do sleep 0.05; done")
	ctx := context.Background()
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cancel(ctx, h); _ = ex.Cleanup(ctx, h) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		rc, err := ex.Logs(ctx, h, "stdout")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		if string(b) == "live\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live stdout = %q", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := ex.Cleanup(ctx, h); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("Cleanup of a running job = %v, want %s", err, wes.ECONFLICT)
	}
	if err := ex.Cancel(ctx, h); err != nil {
		t.Fatal(err)
	}
	if st, err := ex.Status(ctx, h); err != nil || st.State != wes.JobCanceled {
		t.Fatalf("status after Cancel = %+v, %v", st, err)
	}
	if err := ex.Cleanup(ctx, h); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if st, err := ex.Status(ctx, h); err != nil || st.State != wes.JobLost {
		t.Errorf("status after Cleanup = %+v, %v; want lost", st, err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  docker.Config
		want string
	}{
		{"root user", docker.Config{User: "0:0"}, "non-root"},
		{"relative work mount", docker.Config{WorkMount: "work"}, "WorkMount"},
		{"relative dataset root", docker.Config{DatasetRoots: []string{"d"}}, "DatasetRoots[0]"},
		{"missing dataset root", docker.Config{DatasetRoots: []string{"/nonexistent/enclave-datasets"}}, "DatasetRoots[0]"},
		{"negative grace", docker.Config{Grace: -time.Second}, "Grace"},
		{"no engine", docker.Config{Host: "unix:///nonexistent/docker.sock"}, "cannot reach"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := docker.New(ctx, c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}
