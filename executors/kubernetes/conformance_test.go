package kubernetes_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spe4hd/enclave/executors/executortest"
	"github.com/spe4hd/enclave/executors/kubernetes"
	"github.com/spe4hd/enclave/pkg/wes"
)

func TestConformance(t *testing.T) {
	c := needCluster(t)
	executortest.Run(t, c.executor(t, nil), executortest.Options{
		NewJob:        c.newJob,
		Fresh:         func(t *testing.T) wes.Executor { return c.executor(t, nil) },
		HostProcesses: true,
		Timeout:       60 * time.Second,
	})
}

func uniqueID(prefix string) string { return prefix + "-" + randomSuffix() }

// run submits job and waits for its end; the Job is deleted when the test ends.
func run(t *testing.T, ex *kubernetes.Executor, job *wes.Job) (wes.Handle, wes.JobStatus, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t0 := time.Now()
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cancel(context.Background(), h); _ = ex.Cleanup(context.Background(), h) })
	for {
		st, err := ex.Status(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if st.State.Ended() {
			return h, st, time.Since(t0)
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

// Without SplitLogStreams the pod's one log goes to job.Stdout; with it (the test API
// server enables PodLogsQuerySplitStreams) stdout and stderr are apart.
func TestClusterLogsAndEnv(t *testing.T) {
	c := needCluster(t)
	script := `echo "out $FOO"; echo "err $FOO" >&2`
	for _, split := range []bool{false, true} {
		ex := c.executor(t, func(cfg *kubernetes.Config) { cfg.SplitLogStreams = split })
		job := c.newJob(t, uniqueID("logs"), script)
		job.Env = map[string]string{"FOO": "bar baz"}
		_, st, took := run(t, ex, job)
		if st.State != wes.JobSucceeded {
			t.Fatalf("split=%v: status = %+v", split, st)
		}
		t.Logf("split=%v: submitted to succeeded in %s", split, took.Round(time.Millisecond))
		out, errs := readFile(t, job.Stdout), readFile(t, job.Stderr)
		wantOut, wantErr := "out bar baz\nerr bar baz\n", ""
		if split {
			wantOut, wantErr = "out bar baz\n", "err bar baz\n"
		}
		if split && (out != wantOut || errs != wantErr) || !split && (!strings.Contains(out, "out bar baz\n") || !strings.Contains(out, "err bar baz\n") || errs != "") {
			t.Errorf("split=%v: stdout %q stderr %q; want %q and %q", split, out, errs, wantOut, wantErr)
		}
	}
}

func TestClusterTimeLimit(t *testing.T) {
	c := needCluster(t)
	ex := c.executor(t, nil)
	job := c.newJob(t, uniqueID("slow"), "while :; do sleep 0.05; done")
	job.Resources.TimeLimit = time.Second
	_, st, took := run(t, ex, job)
	if st.State != wes.JobFailed || !strings.Contains(st.Message, "time limit") {
		t.Fatalf("status = %+v, want failed with a time-limit message", st)
	}
	t.Logf("time limit 1s: failed after %s", took.Round(time.Millisecond))
}

func TestClusterCommandNotFound(t *testing.T) {
	c := needCluster(t)
	job := c.newJob(t, uniqueID("nocmd"), "")
	job.Argv = []string{"no-such-command-for-enclave"}
	_, st, _ := run(t, c.executor(t, nil), job)
	if st.State != wes.JobFailed || !strings.Contains(st.Message, "could not be started") {
		t.Fatalf("status = %+v, want failed, could not be started", st)
	}
}

// A Job deleted behind the executor's back makes the run lost, with a message; its
// process is stopped.
func TestClusterJobVanished(t *testing.T) {
	c := needCluster(t)
	ex := c.executor(t, nil)
	job := c.newJob(t, uniqueID("vanish"), "echo $$ > pid; while :; do sleep 0.05; done")
	ctx := context.Background()
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, ex, h, wes.JobRunning)
	bg := metav1.DeletePropagationBackground
	name := "enclave-" + job.ID
	if err := c.cs.BatchV1().Jobs(c.namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, ex, h, wes.JobLost)
	if st.Message != "the Kubernetes Job of this run no longer exists" {
		t.Errorf("message = %q", st.Message)
	}
	if err := ex.Cancel(ctx, h); err != nil {
		t.Errorf("Cancel of a lost job: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(job.WorkDir, "pid"))))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job's process to be gone", func() bool { return processGone(pid) })
}

// processGone reports whether pid has ended (a zombie has: it only waits to be reaped).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func TestClusterLiveLogsAndCleanup(t *testing.T) {
	c := needCluster(t)
	ex := c.executor(t, nil)
	job := c.newJob(t, uniqueID("live"), "echo live; while [ ! -e release ]; do sleep 0.05; done")
	ctx := context.Background()
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cancel(ctx, h); _ = ex.Cleanup(ctx, h) })
	waitState(t, ex, h, wes.JobRunning)
	eventually(t, "the live log", func() bool {
		rc, err := ex.Logs(ctx, h, "stdout")
		if err != nil {
			return false
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return string(b) == "live\n"
	})
	if err := ex.Cleanup(ctx, h); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("Cleanup of a running job = %v, want %s", err, wes.ECONFLICT)
	}
	if err := os.WriteFile(job.WorkDir+"/release", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitState(t, ex, h, wes.JobSucceeded)
	if got := readFile(t, job.Stdout); got != "live\n" {
		t.Errorf("stdout = %q", got)
	}
	if err := ex.Cleanup(ctx, h); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	waitState(t, ex, h, wes.JobLost)
}

func waitState(t *testing.T, ex wes.Executor, h wes.Handle, want wes.JobState) wes.JobStatus {
	t.Helper()
	var st wes.JobStatus
	eventually(t, "state "+string(want), func() bool {
		var err error
		st, err = ex.Status(context.Background(), h)
		return err == nil && st.State == want
	})
	return st
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A job canceled while its pod cannot be scheduled ends canceled once the job controller
// has removed the pod.
func TestClusterCancelQueued(t *testing.T) {
	c := needCluster(t)
	ex := c.executor(t, func(cfg *kubernetes.Config) {
		cfg.NodeSelector = map[string]string{"kubernetes.io/hostname": "no-such-node"}
	})
	ctx := context.Background()
	job := c.newJob(t, uniqueID("unschedulable"), "exit 0")
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cleanup(ctx, h) })
	waitState(t, ex, h, wes.JobQueued)
	eventually(t, "the pod to exist", func() bool {
		pods, err := c.cs.CoreV1().Pods(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: "enclave/run-id=" + job.ID})
		return err == nil && len(pods.Items) > 0
	})
	if err := ex.Cancel(ctx, h); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, ex, h, wes.JobCanceled)
	if st.EndTime.IsZero() || st.ExitCode != nil {
		t.Errorf("canceled status = %+v; want an end time and no exit code", st)
	}
}
