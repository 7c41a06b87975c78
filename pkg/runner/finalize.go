package runner

import (
	"context"
	"errors"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Finalize records the end of a run whose job has ended: exit code, outputs and the
// terminal state. Precedence: CANCELED > SYSTEM_ERROR > EXECUTOR_ERROR > COMPLETE, and
// COMPLETE means the job succeeded and its outputs were collected. Calling it for a run
// whose job is still going does nothing (the reconciler will call again).
func (r *Runner) Finalize(ctx context.Context, id string) error {
	log := r.log.With("run_id", id, "step", "finalize")
	run, err := r.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if run.State.Terminal() || run.Handle == nil {
		return nil
	}
	ex, err := r.executors.Get(run.Handle.Executor)
	if err != nil {
		return r.fail(ctx, id, wes.StateSystemError, "the executor that ran this job is no longer configured")
	}
	st, err := ex.Status(ctx, *run.Handle)
	if err != nil {
		return err // backend unreachable: retried, the run keeps its state
	}
	if !st.State.Ended() {
		return nil
	}

	state, msg := terminalState(run, st)
	// Outputs are read from the work directory Start ran the job in (run.WorkDir is what
	// the API recorded, and may be empty for runs created elsewhere).
	var outputs map[string]any
	if state == wes.StateComplete {
		engine, ok := r.engines.ByName(run.Engine)
		if !ok {
			state, msg = wes.StateSystemError, "the workflow engine is no longer configured; outputs were not collected"
		} else if outputs, err = engine.Outputs(ctx, wes.LayoutFor(r.cfg.DataDir, id).WorkDir()); err != nil {
			log.Error("collecting outputs failed", "err", err)
			state, msg = wes.StateSystemError, "the run's outputs could not be collected"
		}
	}

	_, err = r.store.Update(ctx, id, func(run *wes.Run) error {
		if run.State.Terminal() {
			return errStop
		}
		if run.CancelRequested {
			state = wes.StateCanceled
		}
		run.State = state
		run.Log.ExitCode = st.ExitCode
		run.Log.EndTime = endTime(st, r.now())
		run.EndTime = r.now()
		if state == wes.StateComplete { // a cancelled run releases nothing
			run.Outputs = outputs
		}
		if msg != "" {
			run.AddSystemLog(msg)
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		return err
	}
	log.Info("run finished", "state", state)
	r.cleanup(ctx, ex, *run.Handle)
	return nil
}

// terminalState maps an ended job to the run's terminal state and an Enclave message.
func terminalState(run *wes.Run, st wes.JobStatus) (wes.State, string) {
	switch {
	case run.CancelRequested || st.State == wes.JobCanceled:
		return wes.StateCanceled, ""
	case st.State == wes.JobLost:
		m := "the job vanished from the executor"
		if st.Message != "" {
			m += ": " + st.Message
		}
		return wes.StateSystemError, m
	case st.State == wes.JobFailed:
		return wes.StateExecutorError, "the workflow engine exited with an error"
	}
	return wes.StateComplete, ""
}

// endTime is the job's own end time when the executor knows it, else now.
func endTime(st wes.JobStatus, now time.Time) time.Time {
	if !st.EndTime.IsZero() {
		return st.EndTime.UTC()
	}
	return now
}

// cleanup releases backend resources of an ended job; failures are only logged, the
// backend's own garbage collection (TTL, labels) is the safety net.
func (r *Runner) cleanup(ctx context.Context, ex wes.Executor, h wes.Handle) {
	if c, ok := ex.(wes.Cleaner); ok {
		if err := c.Cleanup(ctx, h); err != nil {
			r.log.Warn("executor cleanup failed", "executor", ex.Name(), "err", err)
		}
	}
}
