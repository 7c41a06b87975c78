package runner

import (
	"context"
	"sync"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// RunReconciler calls Reconcile every ReconcileInterval until ctx ends. With a Lease it
// does so only while its worker holds the lease, and tries to take it on every tick
// otherwise (leader.go); it gives the lease up when ctx ends.
func (r *Runner) RunReconciler(ctx context.Context) {
	el := &election{r: r}
	defer el.resign()
	t := time.NewTicker(r.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		if el.lead(ctx) {
			stop := el.keep(ctx)
			err := r.Reconcile(ctx)
			stop()
			if err != nil && ctx.Err() == nil {
				r.log.Warn("reconcile pass failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reconcile makes one pass over all non-terminal runs: it asks the executors for the state
// of every live job (in one batch per executor where the backend allows), enqueues the
// finalize step for jobs that ended, and re-enqueues the start or cancel step of runs that
// have waited longer than StuckAfter (a crash between storing a run and enqueueing its
// step, a step held by a worker that died, or a step that exhausted its retries while the
// backend was down). The dispatcher resumes a step whose worker died under a fresh task
// (queue.Client), so such a run moves on within about StuckAfter of the death instead of
// waiting for the queue's own recovery. Every enqueue is idempotent, so several workers
// reconciling at once do no harm; with a Lease, one reconciles at a time (leader.go).
//
// The runs are read in one batch (RunStore.Live): a pass costs the run store the same few
// round trips with ten live runs or ten thousand.
//
// With admission control it also frees the slots of runs that are no longer live and
// leaves runs that wait for a slot alone (admission.go).
//
// It also does the side effects that steps left undone in runs' outboxes (effects.go):
// those of live runs as it reads them, those of runs that ended meanwhile from the store's
// list of runs with pending effects.
func (r *Runner) Reconcile(ctx context.Context) error {
	r.at("reconcile:pass")
	began, nLive := time.Now(), -1
	defer func() { r.cfg.Metrics.Reconcile(time.Since(began), nLive) }()
	holders, err := r.admissionSnapshot(ctx) // before the live runs: see admissionSnapshot
	if err != nil {
		return err
	}
	// All of them in a few round trips, however many: not one read per run.
	runs, err := r.store.Live(ctx)
	if err != nil {
		return err
	}
	nLive = len(runs.Active)
	live := map[string][]*wes.Run{} // executor name → runs with a job
	var stuckStarts []*wes.Run
	now := r.now()
	for _, run := range runs.Active {
		stuck := now.Sub(run.UpdatedAt) > r.cfg.StuckAfter
		switch {
		case run.State.Terminal(): // ended since the active set was read
		case run.Cancelling():
			if stuck {
				r.enqueue(ctx, "cancel", run.ID, r.dispatch.Cancel)
			}
		case run.Handle != nil:
			live[run.Handle.Executor] = append(live[run.Handle.Executor], run)
		case stuck:
			stuckStarts = append(stuckStarts, run)
		}
	}
	for _, id := range r.notWaiting(ctx, stuckStarts) {
		r.enqueue(ctx, "start", id, r.dispatch.Start)
	}
	if holders != nil {
		isLive := make(map[string]bool, len(runs.Active))
		for _, run := range runs.Active {
			isLive[run.ID] = true
		}
		r.healAdmission(ctx, holders, isLive)
	}
	for name, runs := range live {
		if r.backoff.waiting(name, now) {
			continue // unreachable a moment ago: its runs keep their state until the next try
		}
		r.poll(ctx, name, runs)
	}
	// Runs with effects still in their outbox: live ones, and ended ones.
	r.drainRuns(ctx, runs.Pending)
	return nil
}

// effectsBudget bounds the time one reconcile pass spends doing runs' pending side
// effects, so that a backend whose clean-ups hang cannot hold up the polling of live
// jobs; what is left waits for the next pass.
const effectsBudget = 10 * time.Second

// drainRuns does the due side effects of runs, within effectsBudget.
func (r *Runner) drainRuns(ctx context.Context, runs []*wes.Run) {
	start := time.Now()
	for i, run := range runs {
		if time.Since(start) > effectsBudget {
			r.log.Warn("side effects of some runs are left for the next reconcile pass", "runs", len(runs)-i)
			return
		}
		r.drainDue(ctx, run)
	}
}

// poll asks one executor for its jobs' states and enqueues finalize for the ended ones.
func (r *Runner) poll(ctx context.Context, name string, runs []*wes.Run) {
	ex, err := r.executors.Get(name)
	if err != nil {
		for _, run := range runs {
			_ = r.fail(ctx, run.ID, wes.StateSystemError, "the executor that ran this job is no longer configured")
		}
		return
	}
	hs := make([]wes.Handle, len(runs))
	for i, run := range runs {
		hs[i] = *run.Handle
	}
	var sts []wes.JobStatus
	if b, ok := capability[wes.StatusBatcher](ex); ok {
		sts, err = b.StatusBatch(ctx, hs)
		if err == nil && len(sts) != len(hs) {
			err = wes.Errorf(wes.EINTERNAL, "executor %s returned %d statuses for %d jobs", name, len(sts), len(hs))
		}
	} else {
		sts, err = r.statusEach(ctx, ex, runs)
	}
	if err != nil {
		if wes.IsCode(err, wes.EUNAVAILABLE) && ctx.Err() == nil {
			r.unreachable(name, len(runs), err)
			return
		}
		// The runs keep their state; the next pass tries again.
		r.log.Warn("executor status failed; runs keep their state", "executor", name, "runs", len(runs), "err", err)
		return
	}
	r.reachable(name)
	for i, st := range sts {
		run := runs[i]
		switch {
		case st.State == "": // its status could not be read; it keeps its state
		case st.State.Ended():
			r.enqueue(ctx, "finalize", run.ID, r.dispatch.Finalize)
		case run.State != wes.StateRunning && st.State == wes.JobRunning:
			r.enqueue(ctx, "start", run.ID, r.dispatch.Start) // brings it up to RUNNING
		}
	}
}

// statusEach asks for the jobs' states one by one. A job whose status cannot be read is
// left with an empty status and the others are still looked at, so one bad handle does
// not hold up every run on the executor; only an unreachable backend ends the round.
func (r *Runner) statusEach(ctx context.Context, ex wes.Executor, runs []*wes.Run) ([]wes.JobStatus, error) {
	sts := make([]wes.JobStatus, len(runs))
	for i, run := range runs {
		st, err := ex.Status(ctx, *run.Handle)
		if err != nil {
			if wes.IsCode(err, wes.EUNAVAILABLE) || ctx.Err() != nil {
				return nil, err
			}
			r.log.Warn("job status failed; the run keeps its state", "run_id", run.ID, "err", err)
			continue
		}
		sts[i] = st
	}
	return sts, nil
}

func (r *Runner) enqueue(ctx context.Context, step, id string, f func(context.Context, string) error) {
	if err := f(ctx, id); err != nil {
		r.log.Warn("enqueue failed", "step", step, "run_id", id, "err", err)
	}
}

// maxBackoffIntervals caps the wait between two tries of an unreachable executor, in
// reconcile intervals: 30 s with the default interval of 1 s.
const maxBackoffIntervals = 30

// backoffs tracks the executors whose backend the reconciler could not reach. Each
// failed try doubles the wait before the next one, from one reconcile interval up to
// maxBackoffIntervals; one successful poll forgets it all. Runs of such an executor keep
// their state meanwhile: nothing is known about their jobs, so nothing changes. The zero
// value is ready to use.
type backoffs struct {
	mu sync.Mutex
	by map[string]*backoff
}

type backoff struct {
	failures int
	since    time.Time // the first failure
	next     time.Time // no try before this
}

// waiting reports whether executor name is to be left alone at now.
func (b *backoffs) waiting(name string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.by[name]
	return ok && now.Before(s.next)
}

// unreachable records a failed try of executor name. Only the first failure of a spell is
// logged as a warning, the retries at debug level: a backend down for an hour must not
// fill the log with a line per pass.
func (r *Runner) unreachable(name string, runs int, err error) {
	now := r.now()
	b := &r.backoff
	b.mu.Lock()
	if b.by == nil {
		b.by = map[string]*backoff{}
	}
	s, ok := b.by[name]
	if !ok {
		s = &backoff{since: now}
		b.by[name] = s
	}
	s.failures++
	wait := r.cfg.ReconcileInterval << min(s.failures-1, 16)
	if limit := maxBackoffIntervals * r.cfg.ReconcileInterval; wait > limit || wait <= 0 {
		wait = limit
	}
	s.next = now.Add(wait)
	failures := s.failures
	b.mu.Unlock()
	if failures == 1 {
		r.log.Warn("executor unreachable; its runs keep their state and the reconciler retries with backoff",
			"executor", name, "runs", runs, "retry_in", wait, "err", err)
		return
	}
	r.log.Debug("executor still unreachable", "executor", name, "failures", failures, "retry_in", wait, "err", err)
}

// reachable forgets the failures of executor name, logging the end of a spell.
func (r *Runner) reachable(name string) {
	b := &r.backoff
	b.mu.Lock()
	s, ok := b.by[name]
	delete(b.by, name)
	b.mu.Unlock()
	if ok {
		r.log.Info("executor reachable again; reconciling its runs", "executor", name,
			"failures", s.failures, "down_for", r.now().Sub(s.since).Round(time.Millisecond))
	}
}
