package runner

import (
	"context"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Admission control: an executor with a MaxRunning limit starts no more of its runs at
// once. A run asks for a slot in its start step, before anything of it is prepared; one
// that gets none stays QUEUED in the executor's waiting line (wes.Admission), and its
// start step ends. The slot is freed by the EffectRelease in the outbox of the run's
// terminal state, which lets the next runs in and enqueues their start steps. The
// reconciler heals what a dead worker left half done: it frees the slots of runs that are
// no longer live, lets waiting runs into free slots, and re-enqueues the start of runs
// let in whose step was lost, while leaving the waiting ones alone.

// limit is the number of slots of executor; 0 means no limit.
func (r *Runner) limit(executor string) int {
	if r.cfg.Admission == nil {
		return 0
	}
	return max(r.cfg.MaxRunning[executor], 0)
}

// limited reports whether any executor has a limit.
func (r *Runner) limited() bool {
	for name := range r.cfg.MaxRunning {
		if r.limit(name) > 0 {
			return true
		}
	}
	return false
}

// admit reports whether the run may go on with its start: it holds a slot of its
// executor, its executor has no limit, or it is past the point where slots are handed
// out (already starting, started, cancelled or ended).
func (r *Runner) admit(ctx context.Context, id string) (bool, error) {
	if !r.limited() {
		return true, nil
	}
	run, err := r.store.Get(ctx, id)
	if err != nil {
		return false, err
	}
	lim := r.limit(run.Executor)
	if lim == 0 || run.State != wes.StateQueued || run.Handle != nil || run.Cancelling() {
		return true, nil
	}
	granted, admitted, err := r.cfg.Admission.Acquire(ctx, wes.Ticket{
		Executor: run.Executor, Owner: run.Owner, RunID: run.ID, Order: run.CreatedAt.UnixNano(),
	}, lim)
	if err != nil {
		return false, err // retried by the queue
	}
	r.startAdmitted(ctx, admitted)
	if !granted {
		r.log.Debug("run waits for a free executor slot", "run_id", id, "executor", run.Executor, "max_running", lim)
	}
	return granted, nil
}

// release frees the slot of a run that ended (EffectRelease).
func (r *Runner) release(ctx context.Context, run *wes.Run) (bool, error) {
	if r.cfg.Admission == nil {
		return false, nil // left for a worker that has admission control
	}
	admitted, err := r.cfg.Admission.Release(ctx, run.Executor, r.limit(run.Executor), run.ID)
	if err != nil {
		return true, err
	}
	r.startAdmitted(ctx, admitted)
	return true, nil
}

// startAdmitted enqueues the start steps of runs just let in. One that cannot be enqueued
// holds its slot in QUEUED until the reconciler finds it stuck and enqueues it again.
func (r *Runner) startAdmitted(ctx context.Context, ids []string) {
	for _, id := range ids {
		if err := r.dispatch.Start(ctx, id); err != nil {
			r.log.Warn("cannot enqueue the start of a run let in; the reconciler will", "run_id", id, "err", err)
		}
	}
}

// admissionSnapshot reads, before the reconciler reads the live runs, which runs hold
// each limited executor's slots: a holder missing from the live runs read after it has
// ended (or gone) for sure, since runs only ever become live before they take a slot.
func (r *Runner) admissionSnapshot(ctx context.Context) (map[string][]string, error) {
	if !r.limited() {
		return nil, nil
	}
	out := map[string][]string{}
	for name := range r.cfg.MaxRunning {
		if r.limit(name) == 0 {
			continue
		}
		ids, err := r.cfg.Admission.Holders(ctx, name)
		if err != nil {
			return nil, err
		}
		out[name] = ids
	}
	return out, nil
}

// healAdmission frees the slots of holders that are no longer live and lets waiting
// runs into free slots (after a lost release, or a raised limit), enqueueing their
// start steps.
func (r *Runner) healAdmission(ctx context.Context, holders map[string][]string, live map[string]bool) {
	for name, ids := range holders {
		var gone []string
		for _, id := range ids {
			if !live[id] {
				gone = append(gone, id)
			}
		}
		admitted, err := r.cfg.Admission.Release(ctx, name, r.limit(name), gone...)
		if err != nil {
			r.log.Warn("cannot check the executor's slots", "executor", name, "err", err)
			continue
		}
		if len(gone) > 0 {
			r.log.Info("freed the slots of runs that ended without freeing them", "executor", name, "runs", len(gone))
		}
		r.startAdmitted(ctx, admitted)
	}
}

// notWaiting returns those of the stuck queued runs that do not wait for a slot: their
// start steps are re-enqueued, while waiting runs stay put until they are let in.
func (r *Runner) notWaiting(ctx context.Context, stuck []*wes.Run) []string {
	byEx := map[string][]string{}
	var out []string
	for _, run := range stuck {
		if r.limit(run.Executor) > 0 && run.State == wes.StateQueued {
			byEx[run.Executor] = append(byEx[run.Executor], run.ID)
		} else {
			out = append(out, run.ID)
		}
	}
	for name, ids := range byEx {
		waiting, err := r.cfg.Admission.Waiting(ctx, name, ids)
		if err != nil {
			r.log.Warn("cannot read the executor's waiting line", "executor", name, "err", err)
			continue
		}
		for i, id := range ids {
			if !waiting[i] {
				out = append(out, id)
			}
		}
	}
	return out
}
