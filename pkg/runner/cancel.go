package runner

import (
	"context"
	"errors"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Cancel stops a run's job (gracefully, then forcibly: the executor's grace) and marks the
// run CANCELED. A run that never got a job is cancelled at once; a start step still in
// flight sees the cancel when it stores its Handle and stops the job itself. Cancelling a
// finished run does nothing.
func (r *Runner) Cancel(ctx context.Context, id string) error {
	run, err := r.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if run.State.Terminal() {
		return nil
	}
	var st wes.JobStatus
	if run.Handle != nil {
		ex, err := r.executors.Get(run.Handle.Executor)
		if err != nil {
			return r.fail(ctx, id, wes.StateSystemError, "the executor that ran this job is no longer configured")
		}
		if err := ex.Cancel(ctx, *run.Handle); err != nil {
			r.log.Warn("cancel failed; will retry", "run_id", id, "err", err)
			return err
		}
		if st, err = ex.Status(ctx, *run.Handle); err != nil {
			return err
		}
		defer r.cleanup(ctx, ex, *run.Handle)
	}
	_, err = r.store.Update(ctx, id, func(run *wes.Run) error {
		if run.State.Terminal() {
			return errStop
		}
		run.CancelRequested = true
		run.State = wes.StateCanceled
		run.EndTime = r.now()
		if run.Handle != nil {
			run.Log.ExitCode = st.ExitCode
			run.Log.EndTime = endTime(st, run.EndTime)
		}
		run.AddSystemLog("the run was cancelled at the owner's request")
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	if err == nil {
		r.log.Info("run cancelled", "run_id", id)
	}
	return err
}
