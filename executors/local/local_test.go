package local_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/spe4hd/enclave/executors/executortest"
	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/wes"
)

// shimEnv routes this test binary to local.ShimMain (through local.MaybeShim), the way
// `enclave executor-shim` routes the enclave binary.
const shimEnv = local.ShimEnvVar

func TestMain(m *testing.M) {
	local.MaybeShim()
	if os.Getenv(workerEnv) == "1" {
		os.Exit(workerMain())
	}
	os.Exit(m.Run())
}

func config(stateDir string, grace time.Duration) local.Config {
	cfg, err := local.SelfShim(local.Config{StateDir: stateDir, Grace: grace, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	// A -race binary sleeps 1s before it exits (atexit_sleep_ms), which would keep each
	// shim, and the goroutine waiting for it, a second longer than its job.
	cfg.ShimEnv = append(cfg.ShimEnv, "GORACE=atexit_sleep_ms=0")
	return cfg
}

func newExecutor(t *testing.T, stateDir string, grace time.Duration) *local.Executor {
	t.Helper()
	ex, err := local.New(config(stateDir, grace))
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// newJob runs script with sh in a fresh work dir; the log dir does not exist yet, so the
// executor must create it.
func newJob(t *testing.T, id, script string) *wes.Job {
	t.Helper()
	root := t.TempDir()
	work := filepath.Join(root, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	return &wes.Job{ID: id, Argv: []string{"sh", "-c", script}, WorkDir: work,
		Stdout: filepath.Join(root, "logs", "stdout.log"), Stderr: filepath.Join(root, "logs", "stderr.log")}
}

func TestConformance(t *testing.T) {
	state := t.TempDir()
	executortest.Run(t, newExecutor(t, state, 2*time.Second), executortest.Options{
		NewJob:        newJob,
		Fresh:         func(t *testing.T) wes.Executor { return newExecutor(t, state, 2*time.Second) },
		HostProcesses: true,
	})
	verifyNoLeaks(t)
}

// verifyNoLeaks checks that the executor leaves nothing running in the worker once its
// jobs have ended. A shim is the worker's child and a goroutine waits for it, so that
// goroutine must end with the shim, which exits just after it recorded the job's end.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for goleak.Find() != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	goleak.VerifyNone(t)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// run submits job and waits for it to end.
func run(t *testing.T, ex *local.Executor, job *wes.Job) wes.JobStatus {
	t.Helper()
	h, err := ex.Submit(ctx(t), job)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return waitEnded(t, ex, h)
}

func waitEnded(t *testing.T, ex wes.Executor, h wes.Handle) wes.JobStatus {
	t.Helper()
	var st wes.JobStatus
	eventually(t, "the job to end", func() bool {
		var err error
		st, err = ex.Status(context.Background(), h)
		return err == nil && st.State.Ended()
	})
	return st
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
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

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, "a pid in "+filepath.Base(path), func() bool {
		b, err := os.ReadFile(path)
		if err == nil {
			pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		return err == nil && pid > 0
	})
	return pid
}

// processGone: no such process, or a zombie (ended, waiting to be reaped).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return f[0] == "Z" || f[0] == "X"
}

// handleField reads one field of the handle's data, for tests that play the part of a
// crash (killing the shim) and need its pid.
func handleField(t *testing.T, h wes.Handle, name string) int {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(h.Data, &m); err != nil {
		t.Fatal(err)
	}
	v, ok := m[name].(float64)
	if !ok {
		t.Fatalf("handle has no numeric %q: %s", name, h.Data)
	}
	return int(v)
}
