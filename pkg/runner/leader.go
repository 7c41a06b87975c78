package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// One reconciler for all workers: with Config.Lease, RunReconciler reconciles only while
// its worker holds the lease. The holder renews it on every tick, and every interval
// while a long pass runs; the other workers try to take it every interval. A holder
// killed with -9 renews no more, so its lease runs out LeaseTTL after its last renewal at
// the latest, and a standby takes it at its next try: within LeaseTTL plus one interval of
// the death. A worker that stops cleanly gives the lease up, and one of the others takes
// it within an interval. Two reconcilers at once (a holder that lost the lease without
// noticing yet) do no harm: every enqueue is idempotent and effects are claimed first.

// hungPass is how long a pass may run before the holder stops renewing the lease during
// it, so that another worker takes over from one stuck on a backend that never answers.
const hungPass = time.Minute

// holderID names this runner as a lease holder: host, process id (the bench reads it to
// know whom to kill) and a random part telling apart two runners of one process.
func holderID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// election is one RunReconciler's view of the lease. Only RunReconciler's goroutine uses
// it.
type election struct {
	r       *Runner
	leading bool   // held the lease at the last try
	leader  string // the holder seen at the last try; "" before it or after an error
	failing bool   // the last try failed
}

// lead takes or renews the lease and reports whether this worker reconciles now, logging
// every change of leader it sees. Without a lease every worker reconciles.
func (e *election) lead(ctx context.Context) bool {
	r := e.r
	if r.cfg.Lease == nil {
		return true
	}
	holder, err := r.cfg.Lease.Hold(ctx, r.id, r.cfg.LeaseTTL)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		if e.leading {
			r.log.Warn("cannot renew the reconciler lease; this worker stops reconciling until it holds it again", "err", err)
		} else if !e.failing {
			r.log.Warn("cannot read the reconciler lease; this worker stands by", "err", err)
		}
		e.leading, e.leader, e.failing = false, "", true
		return false
	}
	leading := holder == r.id
	switch {
	case leading && !e.leading:
		r.log.Info("this worker reconciles now: it took the reconciler lease", "holder", r.id, "ttl", r.cfg.LeaseTTL)
	case !leading && e.leading:
		r.log.Warn("this worker lost the reconciler lease; it stands by", "leader", holder)
	case !leading && holder != e.leader:
		r.log.Info("another worker reconciles; this one stands by", "leader", holder)
	}
	e.leading, e.leader, e.failing = leading, holder, false
	return leading
}

// keep renews the lease every interval while a pass runs, until the returned stop is
// called or the pass has run for hungPass. Its results are not looked at: the next tick's
// lead finds out whether the lease was kept.
func (e *election) keep(ctx context.Context) (stop func()) {
	r := e.r
	if r.cfg.Lease == nil {
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(r.cfg.ReconcileInterval)
		defer t.Stop()
		started := time.Now()
		limit := r.hungPass
		if limit <= 0 {
			limit = hungPass
		}
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if time.Since(started) > limit {
				r.log.Warn("a reconcile pass has run for too long; the lease is left to run out so that another worker takes over",
					"running_for", time.Since(started).Round(time.Second))
				return
			}
			_, _ = r.cfg.Lease.Hold(ctx, r.id, r.cfg.LeaseTTL)
		}
	}()
	return func() { close(done); <-exited }
}

// resign gives the lease up on a clean stop, so that another worker takes over at its
// next try instead of after the lease runs out. ctx has ended by then, so it has a short
// time of its own.
func (e *election) resign() {
	r := e.r
	if r.cfg.Lease == nil || !e.leading {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.cfg.Lease.Release(ctx, r.id); err != nil {
		r.log.Warn("cannot give the reconciler lease up; another worker takes over when it runs out", "ttl", r.cfg.LeaseTTL, "err", err)
		return
	}
	r.log.Info("gave the reconciler lease up for another worker to take", "holder", r.id)
}
