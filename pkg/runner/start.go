package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// errStop ends an Update without storing anything and without being an error to callers.
var errStop = errors.New("stop")

// Start prepares a queued run's work directory, submits its job and records the Handle
// before the run is marked RUNNING. It is safe to call any number of times: a run that
// already has a Handle is only brought up to RUNNING, and executors' Submit is itself
// idempotent per run id, so a start step redelivered after a crash between Submit and the
// store update finds the job it had already started.
//
// A run whose cancel was requested is not started, with one exception: when an earlier
// start attempt got as far as submitting (Attempts > 0) but no Handle was stored, a job
// may exist that nobody can see. Start then goes through Submit once more, which hands
// back that job (or starts one that is stopped at once), stores its Handle and cancels it,
// so that a cancelled run never leaves an orphaned job behind.
//
// A run of an executor with a MaxRunning limit first needs a slot (admission.go); without
// one the step ends and the run stays QUEUED until it is let in.
//
// RUNNING is stored with its audit event in the run's outbox (effects.go).
func (r *Runner) Start(ctx context.Context, id string) error {
	log := r.log.With("run_id", id, "step", "start")
	if ok, err := r.admit(ctx, id); err != nil || !ok {
		return err // no slot yet: the run waits in QUEUED until one frees up
	}
	var giveUp bool
	var effects []string
	run, err := r.store.Update(ctx, id, func(run *wes.Run) error {
		giveUp, effects = false, nil // fn may run more than once
		cancelling := run.CancelRequested || run.State == wes.StateCanceling
		switch {
		case run.State.Terminal():
			return errStop
		case cancelling && (run.Handle != nil || run.Attempts == 0):
			return errStop // the cancel step has all it needs
		case run.Handle != nil:
			if run.State != wes.StateRunning {
				run.State = wes.StateRunning
				effects = r.addStateEffects(run, "", nil)
				return nil
			}
			return errStop
		}
		run.Attempts++
		if run.Attempts > r.cfg.MaxStartAttempts {
			giveUp = true
			return errStop
		}
		if !cancelling {
			run.State = wes.StateInitializing
		}
		return nil
	})
	if errors.Is(err, errStop) {
		if giveUp {
			return r.fail(ctx, id, wes.StateSystemError,
				fmt.Sprintf("the run could not be started after %d attempts", r.cfg.MaxStartAttempts))
		}
		return r.afterStop(ctx, id)
	}
	if err != nil {
		return err
	}
	if run.Handle != nil { // it only needed its state brought up to RUNNING
		r.drainOwn(ctx, run, effects)
		return nil
	}
	r.at("start:initializing")

	engine, ok := r.engines.ByName(run.Engine)
	if !ok {
		return r.fail(ctx, id, wes.StateSystemError,
			fmt.Sprintf("workflow engine %q is not available on this worker", run.Engine))
	}
	ex, err := r.executors.Get(run.Executor)
	if err != nil {
		return r.fail(ctx, id, wes.StateSystemError,
			fmt.Sprintf("executor %q is not available on this worker", run.Executor))
	}
	layout := wes.LayoutFor(r.cfg.DataDir, id)
	if err := os.MkdirAll(layout.LogDir(), 0o750); err != nil {
		log.Error("cannot create the run's log directory", "err", err)
		return wes.Internal(err, "cannot create the run's log directory")
	}
	if err := os.MkdirAll(layout.WorkDir(), 0o750); err != nil {
		log.Error("cannot create the run's work directory", "err", err)
		return wes.Internal(err, "cannot create the run's work directory")
	}
	in := wes.PrepareInput{Run: run, WorkDir: layout.WorkDir(), WorkflowPath: run.Request.WorkflowURL}
	var (
		entry    *catalog.Entry
		datasets []wes.DatasetMount
	)
	if run.Workflow != "" {
		var ref *refusal
		in.Run, entry, datasets, err = r.stageSealed(ctx, run, layout.WorkDir())
		if errors.As(err, &ref) {
			return r.fail(ctx, id, wes.StateSystemError, ref.msg)
		}
		if err != nil {
			log.Error("staging the catalogue workflow failed", "err", err)
			return err // retried
		}
		in.WorkflowPath = entry.Main
	}
	job, err := engine.Prepare(ctx, in)
	if err != nil {
		if code := wes.ErrorCode(err); code == wes.EINVALID || code == wes.ENOTFOUND {
			msg := "the workflow could not be prepared: " + wes.ErrorMessage(err)
			if entry != nil {
				// The engine saw the params with dataset paths: its words stay in the log.
				log.Warn("engine prepare refused a catalogue run", "err", err)
				msg = "the workflow could not be prepared from the run's parameters; the operators have the details"
			}
			return r.fail(ctx, id, wes.StateExecutorError, msg)
		}
		log.Error("engine prepare failed", "err", err)
		return err // retried
	}
	if entry != nil {
		withResources(job, entry.Resources)
	}
	// The executor parameters among the run's engine parameters (partition, account, qos,
	// memory-mb, time-limit) are the executor's: for a catalogue run in.Run carries the
	// parameters the entry allows, with its fixed values.
	engines.ApplyExecutorParams(job, in.Run.Request.WorkflowEngineParameters)
	job.ID = id
	job.Owner = run.Owner
	job.Datasets = datasets
	job.WorkDir = layout.WorkDir()
	job.Stdout = layout.StdoutPath()
	job.Stderr = layout.StderrPath()

	h, err := ex.Submit(ctx, job)
	if err != nil {
		if wes.ErrorCode(err) == wes.EINVALID {
			return r.fail(ctx, id, wes.StateSystemError, "the executor refused the job: "+wes.ErrorMessage(err))
		}
		log.Warn("submit failed; will retry", "executor", ex.Name(), "err", err)
		return err // retried by the queue; the handle is not stored, Submit is idempotent
	}
	r.at("start:submitted")

	// How the executor confines the job, for the run's system log (no zone paths in it).
	var confined string
	if cr, ok := ex.(wes.JobConfinementReporter); ok {
		if confined, err = cr.JobConfinement(ctx, h); err != nil {
			log.Warn("cannot tell how the job is confined", "executor", ex.Name(), "err", err)
		}
	}

	// Persist the Handle before anything else; then bring the run to RUNNING unless a
	// cancel arrived meanwhile, in which case the job must be stopped now.
	var mustCancel bool
	run, err = r.store.Update(ctx, id, func(run *wes.Run) error {
		effects = nil // fn may run more than once
		run.Handle = &h
		run.Log.Name = engine.Name()
		run.Log.Cmd = job.Argv
		mustCancel = run.CancelRequested || run.State == wes.StateCanceling || run.State.Terminal()
		if !mustCancel {
			run.State = wes.StateRunning
			run.StartTime = r.now()
			run.Log.StartTime = run.StartTime
			if confined != "" && !slices.Contains(run.Log.SystemLogs, confined) { // fn may run twice
				run.AddSystemLog(confined)
			}
			effects = r.addStateEffects(run, "", nil)
		}
		return nil
	})
	if err != nil {
		return err // retried: Submit will hand back the same job
	}
	if mustCancel {
		log.Info("cancel arrived while starting; stopping the job")
		if err := ex.Cancel(ctx, h); err != nil {
			return err // retried: the run has its Handle now, so the cancel step can stop it
		}
		// Finish the cancel here rather than enqueue it: a cancel step still running for
		// this run would make that enqueue a no-op and leave the run CANCELING until the
		// reconciler's next look.
		return r.Cancel(ctx, id)
	}
	r.at("start:stored")
	log.Info("run started", "executor", ex.Name(), "engine", engine.Name())
	r.drainOwn(ctx, run, effects)
	return nil
}

// afterStop handles a start step that found nothing to start: a run waiting to be
// cancelled gets its cancel step (again; it is idempotent), and side effects an earlier
// step left undone are done.
func (r *Runner) afterStop(ctx context.Context, id string) error {
	run, err := r.store.Get(ctx, id)
	if err != nil {
		return err
	}
	r.drainDue(ctx, run)
	if !run.State.Terminal() && (run.CancelRequested || run.State == wes.StateCanceling) {
		return r.dispatch.Cancel(ctx, id)
	}
	return nil
}
