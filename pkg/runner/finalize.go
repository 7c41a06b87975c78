package runner

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Finalize records the end of a run whose job has ended: exit code, outputs and the
// terminal state. Precedence: CANCELED > SYSTEM_ERROR > EXECUTOR_ERROR > COMPLETE, and
// COMPLETE means the job succeeded and its outputs were collected. Calling it for a run
// whose job is still going does nothing (the reconciler will call again). The state's
// audit event and the job's clean-up are stored with the state, in the run's outbox, and
// done from there (effects.go), so a worker that dies in between does not lose them.
func (r *Runner) Finalize(ctx context.Context, id string) error {
	log := r.log.With("run_id", id, "step", "finalize")
	run, err := r.store.Get(ctx, id)
	if err != nil {
		return err
	}
	r.drainDue(ctx, run) // a step that died may have left the side effects of a change
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
	collectMsg, err := collect(ctx, log, ex, *run.Handle)
	if err != nil {
		return err // backend unreachable: retried, the run keeps its state
	}

	state, msg := terminalState(run, st)
	if collectMsg != "" && (state == wes.StateComplete || state == wes.StateExecutorError) {
		state, msg = wes.StateSystemError, collectMsg
	}
	// Outputs are read from the work directory Start ran the job in (run.WorkDir is what
	// the API recorded, and may be empty for runs created elsewhere).
	workDir := wes.LayoutFor(r.cfg.DataDir, id).WorkDir()
	var outputs map[string]any
	var released []wes.Output
	sealed := run.Workflow != ""
	switch {
	case state != wes.StateComplete:
	case sealed:
		// Only what the workflow's allow-list names leaves the zone; the engine's list
		// of every file the run wrote is not kept.
		var ref *refusal
		released, msg, err = r.egressOutputs(ctx, run, workDir)
		if errors.As(err, &ref) {
			state, msg = wes.StateSystemError, ref.msg
		} else if err != nil {
			return err
		}
	default:
		engine, ok := r.engines.ByName(run.Engine)
		if !ok {
			state, msg = wes.StateSystemError, "the workflow engine is no longer configured; outputs were not collected"
		} else if outputs, err = engine.Outputs(ctx, workDir); err != nil {
			log.Error("collecting outputs failed", "err", err)
			state, msg = wes.StateSystemError, "the run's outputs could not be collected"
		}
	}

	var effects []string
	final, err := r.store.Update(ctx, id, func(run *wes.Run) error {
		effects = nil // fn may run more than once
		if run.State.Terminal() {
			return errStop
		}
		s := state
		if run.Cancelling() {
			s = wes.StateCanceled
		}
		run.State = s
		run.Log.ExitCode = st.ExitCode
		run.Log.EndTime = endTime(st, r.now())
		run.EndTime = r.now()
		if s == wes.StateComplete { // a cancelled run releases nothing
			run.Outputs = outputs
			run.Released = released
		}
		if msg != "" {
			run.AddSystemLog(msg)
		}
		// Stored with the state, done below: a worker that dies in between leaves them
		// to the reconciler instead of losing them.
		effects = r.addStateEffects(run, msg, ex)
		return nil
	})
	if sealed && state == wes.StateComplete && len(released) > 0 {
		r.dropUnreleased(ctx, run, final, err)
	}
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		return err
	}
	r.at("finalize:stored")
	log.Info("run finished", "state", final.State)
	r.drainOwn(ctx, final, effects)
	return nil
}

// terminalState maps an ended job to the run's terminal state and an Enclave message.
func terminalState(run *wes.Run, st wes.JobStatus) (wes.State, string) {
	switch {
	case run.Cancelling() || st.State == wes.JobCanceled:
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

// collect brings an ended job's files back from an executor whose jobs run on a copy of
// the work directory (wes.Collector), before anything reads them. An unreachable backend
// is returned as the error (the step is retried); any other failure becomes the message
// of the run's SYSTEM_ERROR.
func collect(ctx context.Context, log *slog.Logger, ex wes.Executor, h wes.Handle) (string, error) {
	c, ok := capability[wes.Collector](ex)
	if !ok {
		return "", nil
	}
	err := c.Collect(ctx, h)
	switch {
	case err == nil:
		return "", nil
	case wes.IsCode(err, wes.EUNAVAILABLE):
		log.Warn("collecting the run's files failed; will retry", "executor", ex.Name(), "err", err)
		return "", err
	}
	log.Error("collecting the run's files failed", "executor", ex.Name(), "err", err)
	return "the run's files could not be brought back from the executor: " + wes.ErrorMessage(err), nil
}

// dropUnreleased removes the objects this finalize step stored when the run did not end
// COMPLETE after all (a cancel won the race). When another step finalized the run
// COMPLETE, its outputs have the same keys, so they stay.
func (r *Runner) dropUnreleased(ctx context.Context, run, final *wes.Run, err error) {
	if errors.Is(err, errStop) {
		cur, gerr := r.store.Get(ctx, run.ID)
		if gerr != nil || cur.State == wes.StateComplete {
			return
		}
		final = cur
	} else if err != nil {
		return // the step is retried and releases the same keys again
	}
	if final.State != wes.StateComplete {
		r.releaser().Drop(ctx, run)
	}
}
