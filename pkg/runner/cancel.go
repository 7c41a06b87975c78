package runner

import (
	"context"
	"errors"

	"github.com/spe4hd/enclave/pkg/wes"
)

// errHandleAppeared ends a cancel's store update when a start step stored the run's
// Handle after the cancel step had read the run without one.
var errHandleAppeared = errors.New("the run got a job handle meanwhile")

// msgCancelled is the Enclave message and audit reason of a cancelled run.
const msgCancelled = "the run was cancelled at the owner's request"

// Cancel stops a run's job (gracefully, then forcibly: the executor's grace) and marks the
// run CANCELED. A run that no start step ever got into (Attempts == 0) has no job and is
// cancelled at once. A run that a start step got into but has no Handle yet may have a
// job being submitted right now: it stays CANCELING with CancelRequested set, and the
// start step (enqueued here, in case the one that began has died) stores the Handle,
// stops the job and enqueues the cancel again. Cancelling a finished run does nothing.
// Like every state change, CANCELED is stored with its audit event and the job's
// clean-up in the run's outbox (effects.go).
func (r *Runner) Cancel(ctx context.Context, id string) error {
	run, err := r.store.Get(ctx, id)
	if err != nil {
		return err
	}
	r.drainDue(ctx, run) // a step that died may have left the side effects of a change
	if run.State.Terminal() {
		return nil
	}
	if run.Handle == nil {
		return r.cancelWithoutJob(ctx, id)
	}
	ex, err := r.executors.Get(run.Handle.Executor)
	if err != nil {
		return r.fail(ctx, id, wes.StateSystemError, "the executor that ran this job is no longer configured")
	}
	if err := ex.Cancel(ctx, *run.Handle); err != nil {
		r.log.Warn("cancel failed; will retry", "run_id", id, "err", err)
		return err
	}
	r.at("cancel:stopped")
	st, err := ex.Status(ctx, *run.Handle)
	if err != nil {
		return err
	}
	var effects []string
	cancelled, err := r.store.Update(ctx, id, func(run *wes.Run) error {
		effects = nil // fn may run more than once
		if run.State.Terminal() {
			return errStop
		}
		run.RequestCancel()
		run.State = wes.StateCanceled
		run.EndTime = r.now()
		run.Log.ExitCode = st.ExitCode
		run.Log.EndTime = endTime(st, run.EndTime)
		run.AddSystemLog(msgCancelled)
		// The clean-up is stored with CANCELED, never before: a retry after a failed
		// update still finds the job.
		effects = r.addStateEffects(run, msgCancelled, ex)
		return nil
	})
	if errors.Is(err, errStop) {
		return nil // finalized meanwhile; finalize cleans up
	}
	if err != nil {
		return err
	}
	r.at("cancel:stored")
	r.log.Info("run cancelled", "run_id", id)
	r.drainOwn(ctx, cancelled, effects)
	return nil
}

// cancelWithoutJob cancels a run that had no Handle when the cancel step read it. Every
// check happens inside the atomic update, so a start step that moves on at the same time
// is seen.
func (r *Runner) cancelWithoutJob(ctx context.Context, id string) error {
	var started bool
	var effects []string
	cancelled, err := r.store.Update(ctx, id, func(run *wes.Run) error {
		started, effects = false, nil // fn may run more than once
		switch {
		case run.State.Terminal():
			return errStop
		case run.Handle != nil:
			return errHandleAppeared
		}
		run.RequestCancel()
		if run.Attempts > 0 {
			// A start step may have submitted a job whose Handle it has not stored yet;
			// CANCELED now would orphan that job. The start step stops it instead.
			started = true
			return nil
		}
		run.State = wes.StateCanceled
		run.EndTime = r.now()
		run.AddSystemLog(msgCancelled)
		effects = r.addStateEffects(run, msgCancelled, nil)
		return nil
	})
	switch {
	case errors.Is(err, errStop):
		return nil
	case errors.Is(err, errHandleAppeared):
		return r.Cancel(ctx, id) // the Handle never goes away again: this recursion ends
	case err != nil:
		return err
	case started:
		r.log.Info("cancel waits for the start step to stop the job", "run_id", id)
		// A no-op if that start step is still queued or running: it sees the cancel when it
		// stores the Handle. The reconciler enqueues this cancel again while the run stays
		// CANCELING, so nothing waits forever.
		return r.dispatch.Start(ctx, id)
	}
	r.at("cancel:stored")
	r.log.Info("run cancelled before it started", "run_id", id)
	r.drainOwn(ctx, cancelled, effects)
	return nil
}
