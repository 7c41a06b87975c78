package runner_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/queue"
	"github.com/spe4hd/enclave/pkg/runner"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// The helper worker's settings: "<redis addr>|<key prefix>|<queue>|<fake dir>|<data dir>".
const resumeHelperEnv = "ENCLAVE_RUNNER_RESUME_HELPER"

// resumeTriesEnv sets how many kills TestResumeAfterWorkerKill measures (default 3).
const resumeTriesEnv = "ENCLAVE_RESUME_TRIES"

// TestResumeAfterWorkerKill kills -9 a worker process whose start step has stored
// INITIALIZING and not yet submitted the job, while another worker runs (with two
// reconcilers electing one through the lease, as two worker processes would). The
// surviving worker resumes the start under a fresh task id, long before asynq's own
// recovery would hand the step back: the run reaches RUNNING through it, with one job.
// The time from the kill to RUNNING is logged (p50 and max over the tries).
func TestResumeAfterWorkerKill(t *testing.T) {
	t.Parallel()
	tries := 3
	if n, err := strconv.Atoi(os.Getenv(resumeTriesEnv)); err == nil && n > 0 {
		tries = n
	}
	var took []time.Duration
	for i := range tries {
		took = append(took, resumeTry(t, i))
	}
	slices.Sort(took)
	t.Logf("kill -9 to RUNNING over %d tries: p50 %v, max %v (all %v)", tries,
		took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), took)
}

func resumeTry(t *testing.T, try int) time.Duration {
	opt := asynq.RedisClientOpt{Addr: testutil.RedisAddr(t)}
	qname := testutil.UniqueName("runner-resume-q-")
	t.Cleanup(func() {
		ins := asynq.NewInspector(opt)
		_ = ins.DeleteQueue(qname, true)
		_ = ins.Close()
	})
	client := queue.NewClient(opt, qname)
	defer client.Close()
	// Production timings: a run is stuck after 10 s, the reconciler looks every second.
	e := newEnv(t, withDispatcher(client), withConfig(func(c *runner.Config) {
		c.StuckAfter = 10 * time.Second
		c.ReconcileInterval = time.Second
	}))
	// The two reconcilers below elect one through the lease, as two workers do.
	e.cfg.Lease = e.store.Lease("reconciler")
	e.r = e.newRunner(t, nil)
	id := e.newRun(t, []string{"fake", "sleep=1h", "append=runs.txt"})

	// The worker to be killed takes the start step.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), resumeHelperEnv+"="+strings.Join([]string{opt.Addr, e.prefix, qname, e.fakeDir, e.dataDir}, "|"))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := client.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "started" {
		t.Fatalf("helper worker said %q, %v; want \"started\"", line, err)
	}
	if run := e.get(t, id); run.State != wes.StateInitializing || run.Handle != nil {
		t.Fatalf("run %s with handle %v, want INITIALIZING without a job", run.State, run.Handle)
	}

	// The surviving worker and two reconcilers (the second with its own queue client).
	discard := slog.New(slog.DiscardHandler)
	w := queue.NewWorker(opt, queue.WorkerConfig{Queue: qname, Concurrency: 2, Logger: discard, ShutdownTimeout: 5 * time.Second}, e.r)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	client2 := queue.NewClient(opt, qname)
	defer client2.Close()
	e.dispatch = client2
	r2 := e.newRunner(t, nil)
	rctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	wg.Go(func() { e.r.RunReconciler(rctx) })
	wg.Go(func() { r2.RunReconciler(rctx) })

	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no requeue, no ack
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()
	eventually(t, 55*time.Second, "the run RUNNING through the surviving worker", func() bool {
		return e.get(t, id).State == wes.StateRunning
	})
	took := time.Since(killed)

	run := e.get(t, id)
	submits, _, _, _ := e.ex.counts()
	if run.Handle == nil || submits != 1 || e.jobs(t, id) != 1 || run.Attempts != 2 {
		t.Errorf("try %d: handle %v, %d submits here, %d jobs, %d attempts; want the job submitted once, by this worker, on the second attempt",
			try, run.Handle, submits, e.jobs(t, id), run.Attempts)
	}
	return took
}

// resumeHelper is the body of the helper process: a worker with a real Runner whose
// start step stops after storing INITIALIZING, says so, and waits to be killed.
func resumeHelper() int {
	parts := strings.Split(os.Getenv(resumeHelperEnv), "|")
	if len(parts) != 5 {
		fmt.Fprintln(os.Stderr, "resume helper: bad settings")
		return 2
	}
	addr, prefix, qname, fakeDir, dataDir := parts[0], parts[1], parts[2], parts[3], parts[4]
	rc := redis.NewClient(&redis.Options{Addr: addr})
	fx, err := fake.New(fake.Config{Dir: fakeDir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "resume helper:", err)
		return 2
	}
	opt := asynq.RedisClientOpt{Addr: addr}
	r, err := runner.New(runner.Config{DataDir: dataDir}, redisstore.New(rc, redisstore.Options{Prefix: prefix}),
		queue.NewClient(opt, qname), executors.NewRegistry(fx), engines.NewRegistry(&testEngine{}))
	if err != nil {
		fmt.Fprintln(os.Stderr, "resume helper:", err)
		return 2
	}
	started := make(chan struct{}, 1)
	runner.SetFailpoint(r, func(point string) {
		if point == "start:initializing" {
			started <- struct{}{}
			time.Sleep(3 * time.Minute) // killed long before this
		}
	})
	w := queue.NewWorker(opt, queue.WorkerConfig{Queue: qname, Concurrency: 1, Logger: slog.New(slog.DiscardHandler)}, r)
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "resume helper:", err)
		return 2
	}
	select {
	case <-started:
		fmt.Println("started")
	case <-time.After(time.Minute):
		return 3
	}
	time.Sleep(3 * time.Minute)
	return 4
}
