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

	"go.uber.org/goleak"

	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

// mortalLease is the real lease until its worker dies: from then on nothing of the worker
// reaches Redis any more, neither a renewal nor a release, as after a kill -9.
type mortalLease struct {
	wes.Lease
	dead atomic.Bool
}

func (l *mortalLease) Hold(ctx context.Context, holder string, ttl time.Duration) (string, error) {
	if l.dead.Load() {
		return "", wes.Errorf(wes.EUNAVAILABLE, "the worker is dead")
	}
	return l.Lease.Hold(ctx, holder, ttl)
}

func (l *mortalLease) Release(ctx context.Context, holder string) error {
	if l.dead.Load() {
		return wes.Errorf(wes.EUNAVAILABLE, "the worker is dead")
	}
	return l.Lease.Release(ctx, holder)
}

// syncBuffer is a log destination several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// pass is one reconcile pass: which worker ran it, and when it began.
type pass struct {
	worker int
	at     time.Time
}

// workers is a set of RunReconcilers sharing one store and lease, as worker processes
// do, each with a context, a lease and a log of its own.
type workers struct {
	t        *testing.T
	interval time.Duration
	ttl      time.Duration
	leases   []*mortalLease
	logs     []*syncBuffer
	stops    []context.CancelFunc
	done     []chan struct{}

	mu     sync.Mutex
	passes []pass
}

func startWorkers(t *testing.T, e *env, n int, interval, ttl time.Duration) *workers {
	t.Helper()
	return startWorkersWith(t, e, n, interval, ttl, 0, nil)
}

// startWorkersWith is startWorkers with a hung-pass limit (0: the default) and a hook
// each pass calls as it begins (nil: none).
func startWorkersWith(t *testing.T, e *env, n int, interval, ttl, hung time.Duration, onPass func(worker int)) *workers {
	t.Helper()
	w := &workers{t: t, interval: interval, ttl: ttl}
	for i := range n {
		lease := &mortalLease{Lease: e.store.Lease("reconciler")}
		log := &syncBuffer{}
		cfg := e.cfg
		cfg.ReconcileInterval, cfg.LeaseTTL, cfg.Lease = interval, ttl, lease
		cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
		r, err := runner.New(cfg, e.store, e.dispatch, e.execs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if hung > 0 {
			runner.SetHungPass(r, hung)
		}
		runner.SetFailpoint(r, func(point string) {
			if point == "reconcile:pass" {
				w.mu.Lock()
				w.passes = append(w.passes, pass{i, time.Now()})
				w.mu.Unlock()
				if onPass != nil {
					onPass(i)
				}
			}
		})
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); r.RunReconciler(ctx) }()
		w.leases, w.logs, w.stops, w.done = append(w.leases, lease), append(w.logs, log), append(w.stops, stop), append(w.done, done)
	}
	t.Cleanup(w.stopAll)
	return w
}

func (w *workers) stopAll() {
	for i := range w.stops {
		w.stop(i)
	}
}

// stop ends worker i's RunReconciler as a clean shutdown does, and waits for it.
func (w *workers) stop(i int) {
	w.stops[i]()
	<-w.done[i]
}

// kill stops worker i dead: no renewal, no release. It returns the moment of death.
func (w *workers) kill(i int) time.Time {
	w.leases[i].dead.Store(true)
	killed := time.Now()
	w.stop(i)
	return killed
}

// since returns the passes that began at or after t.
func (w *workers) since(t time.Time) []pass {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []pass
	for _, p := range w.passes {
		if !p.at.Before(t) {
			out = append(out, p)
		}
	}
	return out
}

// waitPasses waits for n passes from t on and returns them.
func (w *workers) waitPasses(t time.Time, n int) []pass {
	w.t.Helper()
	var got []pass
	eventually(w.t, 20*time.Second, "reconcile passes", func() bool {
		got = w.since(t)
		return len(got) >= n
	})
	return got
}

// only returns the one worker that ran all of passes; it fails the test if several did.
func (w *workers) only(passes []pass, what string) int {
	w.t.Helper()
	by := map[int]int{}
	for _, p := range passes {
		by[p.worker]++
	}
	if len(by) != 1 {
		w.t.Fatalf("%s: passes by worker %v, want all by one", what, by)
	}
	return passes[0].worker
}

// TestOneReconcilerAndTakeover runs three reconcilers on one lease: one reconciles, the
// others stand by. The leader is then killed (renewals and release stop dead, as after
// kill -9); another takes over within the lease's TTL plus one interval, and alone. The
// takeover time is logged.
func TestOneReconcilerAndTakeover(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	e := newEnv(t)
	const interval, ttl = 100 * time.Millisecond, 500 * time.Millisecond
	w := startWorkers(t, e, 3, interval, ttl)

	start := time.Now()
	leader := w.only(w.waitPasses(start, 10), "before the kill")
	killed := w.kill(leader)

	after := w.waitPasses(killed, 5)
	next := w.only(after, "after the kill")
	took := after[0].at.Sub(killed)
	t.Logf("leader %d killed; worker %d took over after %v (TTL %v, interval %v)", leader, next, took.Round(time.Millisecond), ttl, interval)
	// Its lease runs out at most TTL after the kill, and a standby tries every interval.
	// A little slack for a loaded machine's scheduling and one Redis round trip.
	if limit := ttl + interval + 100*time.Millisecond; took > limit {
		t.Errorf("takeover after %v, want within the TTL plus one interval (%v)", took, limit)
	}
	if took < ttl-2*interval {
		t.Errorf("takeover after %v: sooner than the dead leader's lease can have run out (TTL %v)", took, ttl)
	}
	if !strings.Contains(w.logs[next].String(), "this worker reconciles now") {
		t.Errorf("the new leader did not log its leadership:\n%s", w.logs[next].String())
	}
	for i := range w.logs {
		if i != leader && !strings.Contains(w.logs[i].String(), "another worker reconciles; this one stands by") {
			t.Errorf("worker %d did not log standing by:\n%s", i, w.logs[i].String())
		}
	}
	w.stopAll()
	goleak.VerifyNone(t, leaks)
}

// TestReconcilerHandsOverOnStop stops the leader cleanly: it gives the lease up, so a
// standby takes over at its next try, well before the lease would have run out.
func TestReconcilerHandsOverOnStop(t *testing.T) {
	e := newEnv(t)
	const interval, ttl = 100 * time.Millisecond, 3 * time.Second
	w := startWorkers(t, e, 2, interval, ttl)
	leader := w.only(w.waitPasses(time.Now(), 3), "before the stop")
	stopped := time.Now()
	w.stop(leader)
	after := w.waitPasses(stopped, 1)
	took := after[0].at.Sub(stopped)
	if after[0].worker == leader || took > ttl/2 {
		t.Errorf("worker %d reconciled %v after the leader stopped, want the other within about an interval (the lease given up)", after[0].worker, took)
	}
	if !strings.Contains(w.logs[leader].String(), "gave the reconciler lease up") {
		t.Errorf("the leader did not log giving the lease up:\n%s", w.logs[leader].String())
	}
}

// TestLongPassKeepsTheLease makes the leader's first pass last much longer than the
// lease's TTL: the leader renews the lease during the pass, so the standby does not take
// over; only once the pass has run for the hung-pass limit does it stop renewing, and the
// standby takes over then. The old leader, when its pass ends, stands by.
func TestLongPassKeepsTheLease(t *testing.T) {
	e := newEnv(t)
	const interval, ttl, hung = 50 * time.Millisecond, 250 * time.Millisecond, 1500 * time.Millisecond
	release := make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	defer let()
	var first atomic.Bool
	w := startWorkersWith(t, e, 2, interval, ttl, hung, func(int) {
		if first.CompareAndSwap(false, true) {
			<-release // the first pass hangs until the test lets it go
		}
	})
	start := time.Now()
	leader := w.only(w.waitPasses(start, 1), "the first pass")
	began := w.since(start)[0].at

	after := w.waitPasses(began.Add(time.Nanosecond), 1) // the standby's first pass
	took := after[0].at.Sub(began)
	t.Logf("the standby took over %v into the leader's hung pass (hung-pass limit %v, TTL %v)", took.Round(time.Millisecond), hung, ttl)
	if after[0].worker == leader {
		t.Fatalf("the leader passed again while its first pass hung")
	}
	if took < hung {
		t.Errorf("the standby reconciled %v into the leader's pass, before the hung-pass limit %v: the leader did not keep its lease", took, hung)
	}
	if limit := hung + ttl + 2*interval + 100*time.Millisecond; took > limit {
		t.Errorf("the standby took over %v into the hung pass, want within the limit plus the TTL (%v)", took, limit)
	}
	let()
	resumed := time.Now()
	w.waitPasses(resumed, 5)
	if p := w.since(resumed); w.only(p, "after the hung pass ended") == leader {
		t.Errorf("the old leader reconciles again after its hung pass")
	}
	eventually(t, 10*time.Second, "the old leader's log of losing the lease", func() bool {
		return strings.Contains(w.logs[leader].String(), "lost the reconciler lease")
	})
}

// A lease that outlives no renewal interval would pass from worker to worker between
// renewals.
func TestLeaseTTLLongerThanInterval(t *testing.T) {
	e := newEnv(t)
	cfg := e.cfg
	cfg.ReconcileInterval, cfg.LeaseTTL = time.Second, time.Second
	if _, err := runner.New(cfg, e.store, e.dispatch, e.execs, nil); err == nil || !strings.Contains(err.Error(), "LeaseTTL") {
		t.Errorf("New with LeaseTTL = ReconcileInterval: %v, want an error naming LeaseTTL", err)
	}
}
