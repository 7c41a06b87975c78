package local

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spe4hd/enclave/pkg/wes"
)

func testExecutor(t *testing.T) *Executor {
	t.Helper()
	cfg, err := SelfShim(Config{StateDir: t.TempDir(), Grace: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.ShimEnv = append(cfg.ShimEnv, "GORACE=atexit_sleep_ms=0")
	ex, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func testJob(t *testing.T, id, script string) *wes.Job {
	work := t.TempDir()
	return &wes.Job{ID: id, Argv: []string{"sh", "-c", script}, WorkDir: work,
		Stdout: filepath.Join(work, "stdout"), Stderr: filepath.Join(work, "stderr")}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A Submit that died after it started the shim, before it wrote the handle: the next
// Submit adopts that shim (through shim.json) and the job runs once.
func TestSubmitAdoptsShimOfDeadSubmit(t *testing.T) {
	ex := testExecutor(t)
	job := testJob(t, "adopt", "echo ran >> runs.txt; while [ ! -e release ]; do sleep 0.05; done")
	h1, err := ex.Submit(testCtx(t), job)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cancel(context.Background(), h1) })
	dir := filepath.Join(ex.cfg.StateDir, job.ID)
	waitFor(t, "the shim to record itself", func() bool { return exists(filepath.Join(dir, fileShim)) })
	if err := os.Remove(filepath.Join(dir, fileHandle)); err != nil { // what the dead Submit never wrote
		t.Fatal(err)
	}
	h2, err := ex.Submit(testCtx(t), job)
	if err != nil {
		t.Fatalf("second Submit: %v", err)
	}
	if string(h1.Data) != string(h2.Data) {
		t.Fatalf("second Submit's handle %s, first %s: want the same shim", h2.Data, h1.Data)
	}
	if err := os.WriteFile(filepath.Join(job.WorkDir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to end", func() bool { st, err := ex.Status(context.Background(), h2); return err == nil && st.State.Ended() })
	if b, _ := os.ReadFile(filepath.Join(job.WorkDir, "runs.txt")); string(b) != "ran\n" {
		t.Errorf("runs.txt = %q, want one run", b)
	}
}

// While a shim started by a dead Submit holds the run lock and has not yet recorded
// itself, the next Submit starts nothing: it waits for that shim's record and adopts it.
// The test plays the starting shim with a process holding the lock.
func TestSubmitWaitsForStartingShim(t *testing.T) {
	ex := testExecutor(t)
	job := testJob(t, "starting", "echo ran >> runs.txt")
	dir := filepath.Join(ex.cfg.StateDir, job.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, fileRunLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	fake := exec.Command("sleep", "60")
	fake.ExtraFiles = []*os.File{lock}
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	lock.Close() // the fake shim holds the lock now
	t.Cleanup(func() { _ = fake.Process.Kill(); _ = fake.Wait() })

	type result struct {
		h   wes.Handle
		err error
	}
	done := make(chan result, 1)
	go func() { h, err := ex.Submit(testCtx(t), job); done <- result{h, err} }()
	ps, err := readProcStat(fake.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	boot, _ := bootID()
	if err := writeJSONAtomic(filepath.Join(dir, fileShim), shimRecord{PID: fake.Process.Pid, Start: ps.StartTicks, BootID: boot}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Submit: %v", r.err)
	}
	d, err := decodeHandle(r.h)
	if err != nil || d.ShimPID != fake.Process.Pid || d.ShimStart != ps.StartTicks {
		t.Fatalf("handle %+v, %v; want the fake shim's identity (pid %d)", d, err, fake.Process.Pid)
	}
	if st, err := ex.Status(testCtx(t), r.h); err != nil || st.State != wes.JobQueued {
		t.Errorf("status = %+v, %v; want queued (the shim lives, the job has not started)", st, err)
	}
	if exists(filepath.Join(job.WorkDir, "runs.txt")) || exists(filepath.Join(dir, fileSpec)) {
		t.Error("Submit started a job although a shim held the run lock")
	}
	_ = fake.Process.Signal(syscall.SIGKILL)
	_ = fake.Wait()
	if st, err := ex.Status(testCtx(t), r.h); err != nil || st.State != wes.JobLost {
		t.Errorf("status after the shim died = %+v, %v; want lost", st, err)
	}
}

// A shim that passes the probe but dies before it starts the job makes the job lost at
// once; a new Submit of the id returns the same handle and starts nothing.
func TestShimDyingAtStartMeansLost(t *testing.T) {
	script := filepath.Join(t.TempDir(), "shim")
	body := "#!/bin/sh\nif [ \"$1\" = probe ]; then echo '" + shimProtocol + "'; exit 0; fi\necho dying >&2; exit 1\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	ex := testExecutor(t)
	ex.cfg.ShimCommand, ex.cfg.ShimEnv = []string{script}, []string{}
	job := testJob(t, "dying", "echo ran >> runs.txt")
	h, err := ex.Submit(testCtx(t), job)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	var st wes.JobStatus
	waitFor(t, "the job to be lost", func() bool { st, err = ex.Status(context.Background(), h); return err == nil && st.State.Ended() })
	if st.State != wes.JobLost {
		t.Fatalf("status = %+v, want lost", st)
	}
	h2, err := ex.Submit(testCtx(t), job)
	if err != nil || string(h2.Data) != string(h.Data) {
		t.Errorf("re-Submit = %s, %v; want the same handle %s", h2.Data, err, h.Data)
	}
	if exists(filepath.Join(job.WorkDir, "runs.txt")) {
		t.Error("the job ran")
	}
	if log, _ := os.ReadFile(filepath.Join(ex.cfg.StateDir, job.ID, fileShimLog)); !strings.Contains(string(log), "dying") {
		t.Errorf("shim.log = %q, want the shim's stderr", log)
	}
}
