package runner_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/goleak"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/queue"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

// TestFullLoop runs the real pieces together: the API's part done by hand (store the run,
// enqueue run:start), then the asynq worker running the runner's steps and the
// reconciler polling the fake executor on real time, until every run has ended.
func TestFullLoop(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	opt := asynq.RedisClientOpt{Addr: testutil.RedisAddr(t)}
	qname := testutil.UniqueName("runner-q-")
	t.Cleanup(func() {
		ins := asynq.NewInspector(opt)
		_ = ins.DeleteQueue(qname, true)
		_ = ins.Close()
	})
	client := queue.NewClient(opt, qname)
	e := newEnv(t, withDispatcher(client), withConfig(func(c *runner.Config) {
		c.ReconcileInterval = 50 * time.Millisecond
		c.StuckAfter = time.Second
		c.MaxStartAttempts = 2
	}))
	discard := slog.New(slog.DiscardHandler)
	w := queue.NewWorker(opt, queue.WorkerConfig{Queue: qname, Concurrency: 4, RetryBaseDelay: 20 * time.Millisecond,
		DelayedTaskCheckInterval: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Logger: discard}, e.r)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	rctx, stopReconciler := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.r.RunReconciler(rctx) })
	stopped := false
	shutdown := func() {
		if !stopped {
			stopped = true
			stopReconciler()
			wg.Wait()
			w.Shutdown()
			_ = client.Close()
		}
	}
	defer shutdown()

	ctx := t.Context()
	want := map[string]wes.State{}
	submit := func(state wes.State, enqueue bool, argv ...string) string {
		id := e.newRun(t, argv)
		want[id] = state
		if enqueue {
			if err := client.Start(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	submit(wes.StateComplete, true, "fake", "sleep=300ms")
	submit(wes.StateComplete, true, "fake", "queued=100ms", "sleep=200ms")
	submit(wes.StateExecutorError, true, "fake", "sleep=200ms", "exit=3")
	submit(wes.StateSystemError, true, "fake", "sleep=100ms", "lost")
	unavailable := submit(wes.StateSystemError, true, "fake", "submit-error=unavailable")
	// Stored, but the API died before it enqueued run:start: the reconciler starts it.
	submit(wes.StateComplete, false, "fake", "sleep=100ms")
	cancelled := submit(wes.StateCanceled, true, "fake", "sleep=1h")

	eventually(t, 20*time.Second, "the run to be cancelled to be RUNNING", func() bool {
		return e.get(t, cancelled).State == wes.StateRunning
	})
	e.requestCancel(t, cancelled)
	if err := client.Cancel(ctx, cancelled); err != nil {
		t.Fatal(err)
	}

	eventually(t, 30*time.Second, "every run to end", func() bool {
		for id := range want {
			if !e.get(t, id).State.Terminal() {
				return false
			}
		}
		return true
	})
	for id, state := range want {
		run := e.get(t, id)
		if run.State != state {
			t.Errorf("run %s (%v) ended %s, want %s; logs %q", id, run.Log.Cmd, run.State, state, run.Log.SystemLogs)
		}
	}
	if run := e.get(t, unavailable); !hasLog(run, "could not be started after 2 attempts") {
		t.Errorf("system logs %q lack the reason", run.Log.SystemLogs)
	}
	if got := e.ex.cleanedState(cancelled); got != wes.JobCanceled {
		t.Errorf("cancelled run's job cleaned up as %q, want canceled", got)
	}

	shutdown()
	goleak.VerifyNone(t, leaks)
}
