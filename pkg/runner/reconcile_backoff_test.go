package runner_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

// downExec is the fake executor whose backend can be switched off: while down, every
// status call fails with EUNAVAILABLE, as a real executor's does when its backend cannot
// be reached. It counts the status calls that reached it.
type downExec struct {
	*fake.Executor
	down  atomic.Bool
	calls atomic.Int32
}

func (x *downExec) StatusBatch(ctx context.Context, hs []wes.Handle) ([]wes.JobStatus, error) {
	x.calls.Add(1)
	if x.down.Load() {
		return nil, wes.Errorf(wes.EUNAVAILABLE, "the fake backend is down")
	}
	return x.Executor.StatusBatch(ctx, hs)
}

// manualClock stands still until the test moves it, so waits can be checked to the
// millisecond however slow the machine is.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// logBuffer is a slog destination tests can read while the runner writes to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(sub string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), sub)
}

// An executor whose backend is unreachable is polled after 1, 2, 4, ... reconcile
// intervals, up to 30; its runs keep their state; the first failure and the recovery are
// logged once each; the first successful poll resets the backoff and the runs go on.
func TestReconcileBacksOffUnreachableExecutor(t *testing.T) {
	e := newEnv(t) // the store, engine and recording dispatcher
	ctx := t.Context()
	clk := &manualClock{now: time.Now()}
	fx, err := fake.New(fake.Config{Dir: t.TempDir(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	x := &downExec{Executor: fx}
	var logs logBuffer
	const interval = time.Second
	r, err := runner.New(runner.Config{DataDir: e.dataDir, Now: clk.Now, StuckAfter: time.Hour, ReconcileInterval: interval,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		e.store, e.disp, executors.NewRegistry(x), engines.NewRegistry(e.engine))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{e.newRun(t, []string{"fake", "sleep=10m"}), e.newRun(t, []string{"fake", "sleep=10m"})}
	for _, id := range ids {
		if err := r.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	e.disp.take()
	before := map[string]int64{}
	for _, id := range ids {
		before[id] = e.get(t, id).Version
	}

	// pass reconciles once at the clock's current time and returns the status calls it made.
	pass := func() int32 {
		t.Helper()
		n := x.calls.Load()
		if err := r.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		return x.calls.Load() - n
	}
	x.down.Store(true)
	if got := pass(); got != 1 {
		t.Fatalf("first pass made %d status calls, want 1", got)
	}
	// The waits double from one interval and stop growing at 30; between two tries no
	// pass reaches the executor.
	for i, wait := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
		wait *= interval
		clk.advance(wait - time.Millisecond)
		if got := pass(); got != 0 {
			t.Fatalf("try %d: a pass %s after the last failure reached the executor; want a wait of %s", i+2, wait-time.Millisecond, wait)
		}
		clk.advance(time.Millisecond)
		if got := pass(); got != 1 {
			t.Fatalf("try %d: %d status calls after the wait of %s, want 1", i+2, got, wait)
		}
	}
	for _, id := range ids {
		if run := e.get(t, id); run.State != wes.StateRunning || run.Version != before[id] {
			t.Errorf("run %s is %s (version %d, was %d) while its executor is unreachable; want it RUNNING, untouched",
				id, run.State, run.Version, before[id])
		}
	}
	if s := e.disp.take(); len(s) != 0 {
		t.Errorf("steps %v while the executor is unreachable", s)
	}
	if n := logs.count("executor unreachable"); n != 1 {
		t.Errorf("%d warnings that the executor is unreachable over 8 failed tries, want 1", n)
	}
	if n := logs.count("executor still unreachable"); n != 7 {
		t.Errorf("%d debug lines for the retries, want 7", n)
	}

	// Back: the next try succeeds, is logged once, and every pass polls again.
	x.down.Store(false)
	clk.advance(30 * interval)
	if got := pass(); got != 1 {
		t.Fatalf("%d status calls once the backend is back, want 1", got)
	}
	if n := logs.count("executor reachable again"); n != 1 {
		t.Errorf("%d lines saying the executor is back, want 1", n)
	}
	if got := pass(); got != 1 {
		t.Errorf("a pass right after the recovery made %d status calls, want 1: the backoff must reset", got)
	}
	// The jobs end: their runs are finalized as usual.
	clk.advance(10 * time.Minute)
	pass()
	want := sortedSteps(step{"finalize", ids[0]}, step{"finalize", ids[1]})
	if s := e.disp.take(); len(s) != 2 || s[0] != want[0] || s[1] != want[1] {
		t.Errorf("steps = %v, want %v", s, want)
	}

	// A second outage starts from one interval again, and is warned about again.
	x.down.Store(true)
	pass()
	clk.advance(interval)
	if got := pass(); got != 1 {
		t.Errorf("the second outage's first retry came later than one interval")
	}
	if n := logs.count("executor unreachable"); n != 2 {
		t.Errorf("%d warnings after two outages, want 2", n)
	}
}

// Errors other than EUNAVAILABLE do not make the reconciler back off: every pass tries.
func TestReconcileOtherErrorsDoNotBackOff(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id := startRuns(t, e, []string{"fake", "sleep=1m", "status-error=internal"})[0]
	_, _, b0, _ := e.ex.counts()
	for range 3 {
		if err := e.r.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, b, _ := e.ex.counts(); len(b)-len(b0) != 3 {
		t.Errorf("%d batches in 3 passes, want 3", len(b)-len(b0))
	}
	if st := e.get(t, id).State; st != wes.StateRunning {
		t.Errorf("state %s, want RUNNING", st)
	}
}
