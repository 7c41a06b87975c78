package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// The side effects that must follow a run's state change — its audit event, the clean-up
// of its ended job — are not done after the change by the step alone: a worker killed in
// between would lose them for good, since a redelivered step finds the run already in its
// new state. They are written into the run's outbox (wes.Run.Effects) by the same store
// update that changes the state, and then done:
//
//   - by the step that stored them, at once (drainOwn), and removed in one more update;
//   - otherwise, once their NotBefore has passed, by whoever finds them first: a later
//     step of the run, or the reconciler, which looks at every run the store lists as
//     Pending (terminal ones too). Such a doer first claims the effects (an update that
//     moves their NotBefore on), so two reconcilers never do the same effect at once.
//
// Effects are done in outbox order, and the clean-up is stored before the audit event:
// cleaning up twice is harmless, while the audit trail cannot take an event back. An
// audit event is therefore recorded twice only when its doer dies, or loses the run store,
// between recording it and removing it from the outbox (or takes longer than effectGrace
// to do so); the repeat carries the same detail event_id, so a reader can tell it from a
// second state change.

const (
	// effectGrace is how long others leave an effect alone after it was stored or claimed:
	// its doer records an audit event within auditTimeout and cleans up within
	// cleanupTimeout, so one still at it after this is taken for dead.
	effectGrace = time.Minute
	// cleanupTimeout bounds one executor clean-up.
	cleanupTimeout = 30 * time.Second
	// effectRetryBase is the wait after an effect's first failure; it doubles with every
	// further failure up to effectRetryMax.
	effectRetryBase = 5 * time.Second
	effectRetryMax  = 10 * time.Minute
	// maxCleanupTries bounds the tries of one clean-up (about 40 minutes): the backend's
	// own garbage collection is the safety net. An audit event is never given up.
	maxCleanupTries = 10
)

// addStateEffects appends to run, inside the store update that just set its state, the
// effects that must follow: the release of its executor slot when it ended and its
// executor has a limit, the clean-up of its job when ex can clean up (nil: none), and
// the audit event of the new state with Enclave's reason when an audit trail is
// configured. It returns their ids, for the step to do them itself (drainOwn).
func (r *Runner) addStateEffects(run *wes.Run, reason string, ex wes.Executor) []string {
	v := run.Version + 1 // the version this update stores: unique per run
	now := r.now()
	var ids []string
	if run.State.Terminal() && r.limit(run.Executor) > 0 {
		// First, so that a slow clean-up does not keep the next run waiting.
		id := fmt.Sprintf("%d-release", v)
		run.Effects = append(run.Effects, wes.Effect{ID: id, Kind: wes.EffectRelease, NotBefore: now.Add(effectGrace)})
		ids = append(ids, id)
	}
	if _, ok := capability[wes.Cleaner](ex); ok && run.Handle != nil {
		id := fmt.Sprintf("%d-cleanup", v)
		run.Effects = append(run.Effects, wes.Effect{ID: id, Kind: wes.EffectCleanup, NotBefore: now.Add(effectGrace)})
		ids = append(ids, id)
	}
	if r.cfg.Audit != nil {
		id := fmt.Sprintf("%d-audit", v)
		ev := stateEvent(run, reason, now)
		ev.Detail["event_id"] = run.ID + "/" + id
		run.Effects = append(run.Effects, wes.Effect{ID: id, Kind: wes.EffectAudit, Event: &ev, NotBefore: now.Add(effectGrace)})
		ids = append(ids, id)
	}
	return append(ids, r.addNotices(run, v, now)...)
}

// drainOwn does the effects with the given ids, which the calling step has just stored.
func (r *Runner) drainOwn(ctx context.Context, run *wes.Run, ids []string) {
	if len(ids) == 0 {
		return
	}
	var own []wes.Effect
	for _, e := range run.Effects {
		if slices.Contains(ids, e.ID) {
			own = append(own, e)
		}
	}
	r.doEffects(ctx, run, own)
}

// drainDue claims and does run's effects whose NotBefore has passed: those of a step that
// died, or failed ones whose retry is due. Effects of a step that may still be doing them
// are left to it.
func (r *Runner) drainDue(ctx context.Context, run *wes.Run) {
	now := r.now()
	if !slices.ContainsFunc(run.Effects, func(e wes.Effect) bool { return !now.Before(e.NotBefore) }) {
		return
	}
	var claimed []wes.Effect
	cur, err := r.store.Update(ctx, run.ID, func(cur *wes.Run) error {
		claimed = claimed[:0] // fn may run more than once
		for i := range cur.Effects {
			if e := &cur.Effects[i]; !now.Before(e.NotBefore) {
				e.NotBefore = now.Add(effectGrace)
				claimed = append(claimed, *e)
			}
		}
		if len(claimed) == 0 {
			return errStop // another doer claimed them first
		}
		return nil
	})
	if err != nil {
		if !errors.Is(err, errStop) {
			r.log.Warn("cannot claim a run's pending effects; they stay in its outbox", "run_id", run.ID, "err", err)
		}
		return
	}
	r.log.Info("doing side effects a step left undone", "run_id", run.ID, "effects", len(claimed))
	r.doEffects(ctx, cur, claimed)
}

// doEffects does effects of run in order and then, in one store update, removes the done
// ones from the outbox and puts the failed ones off for a retry.
func (r *Runner) doEffects(ctx context.Context, run *wes.Run, effects []wes.Effect) {
	done := map[string]bool{} // id → done (true) or failed (false)
	for _, e := range effects {
		ok, err := r.doEffect(ctx, run, e)
		switch {
		case err != nil:
			done[e.ID] = false
			r.log.Warn("a side effect of a state change failed; it will be retried", "run_id", run.ID,
				"effect", e.Kind, "tries", e.Tries+1, "err", err)
		case ok:
			done[e.ID] = true
		}
		r.at("effect:" + string(e.Kind))
	}
	if len(done) == 0 {
		return
	}
	now := r.now()
	var dropped []wes.Effect
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	_, err := r.store.Update(actx, run.ID, func(cur *wes.Run) error {
		dropped = dropped[:0] // fn may run more than once
		kept := make([]wes.Effect, 0, len(cur.Effects))
		for _, e := range cur.Effects {
			ok, seen := done[e.ID]
			switch {
			case seen && ok:
				continue
			case seen:
				e.Tries++
				if e.Kind == wes.EffectCleanup && e.Tries >= maxCleanupTries {
					dropped = append(dropped, e)
					continue
				}
				e.NotBefore = now.Add(retryWait(e.Tries))
			}
			kept = append(kept, e)
		}
		if len(kept) == 0 {
			kept = nil
		}
		cur.Effects = kept
		return nil
	})
	if err != nil {
		// They stay in the outbox: the reconciler does them again after effectGrace.
		r.log.Warn("cannot remove done side effects from a run's outbox; they will be done again", "run_id", run.ID, "err", err)
		return
	}
	for _, e := range dropped {
		r.log.Error("gave up cleaning up a run's job; the backend's own clean-up must remove it",
			"run_id", run.ID, "tries", e.Tries)
	}
	r.at("effects:acked")
}

// doEffect does one effect. ok false with a nil error means it was left alone: a kind
// this Enclave does not know (written by a newer one) stays for a worker that does.
func (r *Runner) doEffect(ctx context.Context, run *wes.Run, e wes.Effect) (ok bool, err error) {
	switch e.Kind {
	case wes.EffectAudit:
		switch {
		case e.Event == nil:
			return true, nil // nothing to record
		case r.cfg.Audit == nil:
			return false, nil // left for a worker with an audit trail
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
		defer cancel()
		return true, r.cfg.Audit.Record(actx, *e.Event)
	case wes.EffectRelease:
		return r.release(ctx, run)
	case wes.EffectNotify:
		return r.notify(ctx, run, e)
	case wes.EffectCleanup:
		if run.Handle == nil {
			return true, nil
		}
		ex, err := r.executors.Get(run.Handle.Executor)
		if err != nil {
			return true, err
		}
		c, ok := capability[wes.Cleaner](ex)
		if !ok {
			return true, nil
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		return true, c.Cleanup(cctx, *run.Handle)
	}
	return false, nil
}

// retryWait is the wait before an effect's next try after its tries-th failure.
func retryWait(tries int) time.Duration {
	d := effectRetryBase << min(tries-1, 16)
	if d <= 0 || d > effectRetryMax {
		return effectRetryMax
	}
	return d
}

// at is a failpoint: tests make the step stop dead there, as a worker killed at that
// moment would. It does nothing unless a test set one.
func (r *Runner) at(point string) {
	if r.failpoint != nil {
		r.failpoint(point)
	}
}
