package local_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/wes"
)

// workerEnv makes this test binary act as a worker: submit one job, print its handle,
// then block until killed or its stdin is closed.
const workerEnv = "ENCLAVE_LOCAL_TEST_WORKER"

func workerMain() int {
	stateDir, workDir := os.Getenv("ENCLAVE_TEST_STATE_DIR"), os.Getenv("ENCLAVE_TEST_WORK_DIR")
	ex, err := local.New(config(stateDir, time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	job := &wes.Job{ID: "survivor", WorkDir: workDir,
		Argv:   []string{"sh", "-c", "echo ran >> runs.txt; echo $$ > job.pid; while [ ! -e release ]; do sleep 0.05; done; echo finished"},
		Stdout: filepath.Join(workDir, "stdout.log"), Stderr: filepath.Join(workDir, "stderr.log")}
	h, err := ex.Submit(context.Background(), job)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(h); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // block: the test kills this process or closes stdin
	return 0
}

// startWorker starts a worker process in its own process group and returns it with a
// function that reads the handle it prints. The worker exits at the end of the test.
func startWorker(t *testing.T, state, work string) (*exec.Cmd, func() wes.Handle) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	worker := exec.Command(exe)
	worker.Env = append(os.Environ(), workerEnv+"=1", "GORACE=atexit_sleep_ms=0", "ENCLAVE_TEST_STATE_DIR="+state, "ENCLAVE_TEST_WORK_DIR="+work)
	worker.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	worker.Stderr = os.Stderr
	stdin, err := worker.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := worker.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = worker.Wait()
	})
	return worker, func() wes.Handle {
		t.Helper()
		line, err := bufio.NewReader(stdout).ReadBytes('\n')
		if err != nil {
			_ = worker.Process.Kill()
			t.Fatalf("reading the handle from the worker: %v", err)
		}
		var h wes.Handle
		if err := json.Unmarshal(line, &h); err != nil {
			t.Fatalf("worker printed %q: %v", line, err)
		}
		return h
	}
}

// Killing the worker (its whole process group, with SIGKILL) leaves the job running, and
// a fresh executor, with only the handle, sees it finish.
func TestJobSurvivesWorkerKill(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	worker, handle := startWorker(t, state, work)
	h := handle()
	jobPID := readPID(t, filepath.Join(work, "job.pid"))

	if err := syscall.Kill(-worker.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = worker.Wait()

	ex := newExecutor(t, state, time.Second)
	t.Cleanup(func() { _ = ex.Cancel(context.Background(), h) })
	st, err := ex.Status(ctx(t), h)
	if err != nil || st.State != wes.JobRunning {
		t.Fatalf("after the worker was killed: status = %+v, %v; want running", st, err)
	}
	if processGone(jobPID) {
		t.Fatal("the job's process died with the worker")
	}
	if err := os.WriteFile(filepath.Join(work, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if st := waitEnded(t, ex, h); st.State != wes.JobSucceeded {
		t.Fatalf("final status = %+v, want succeeded", st)
	}
	if got := readFile(t, filepath.Join(work, "stdout.log")); got != "finished\n" {
		t.Errorf("stdout = %q", got)
	}
}

// Workers in separate processes that submit the same job at once start it once and
// all get the same handle.
func TestConcurrentSubmitsFromProcesses(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	const n = 3
	var reads []func() wes.Handle
	for range n { // all started before any handle is read: their Submits overlap
		_, read := startWorker(t, state, work)
		reads = append(reads, read)
	}
	handles := make([]wes.Handle, n)
	for i, read := range reads {
		handles[i] = read()
	}
	ex := newExecutor(t, state, time.Second)
	t.Cleanup(func() { _ = ex.Cancel(context.Background(), handles[0]) })
	for i, h := range handles {
		if h.Executor == "" || string(h.Data) != string(handles[0].Data) {
			t.Fatalf("worker %d got handle %s, worker 0 got %s", i, h.Data, handles[0].Data)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if st := waitEnded(t, ex, handles[0]); st.State != wes.JobSucceeded {
		t.Fatalf("final status = %+v, want succeeded", st)
	}
	if got := readFile(t, filepath.Join(work, "runs.txt")); strings.Count(got, "ran\n") != 1 {
		t.Errorf("the job ran %d times for %d Submits from %d processes, want 1", strings.Count(got, "ran\n"), n, n)
	}
}
