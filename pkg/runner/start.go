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
	if ok, err := r.admit(ctx, id); err != nil || !ok {
		return err // no slot yet: the run waits in QUEUED until one frees up
	}
	run, next, effects, err := r.claimStart(ctx, id)
	if err != nil {
		return err
	}
	switch next {
	case startGiveUp:
		return r.fail(ctx, id, wes.StateSystemError,
			fmt.Sprintf("the run could not be started after %d attempts", r.cfg.MaxStartAttempts))
	case startNothing:
		return r.afterStop(ctx, id)
	case startPromoted: // it only needed its state brought up to RUNNING
		r.drainOwn(ctx, run, effects)
		return nil
	}
	r.at("start:initializing")
	p, err := r.prepare(ctx, run)
	if err != nil || p == nil {
		return err // retried, or the run has ended (prepare failed it)
	}
	h, err := p.ex.Submit(ctx, p.job)
	if err != nil {
		if wes.ErrorCode(err) == wes.EINVALID {
			return r.fail(ctx, id, wes.StateSystemError, "the executor refused the job: "+wes.ErrorMessage(err))
		}
		r.log.Warn("submit failed; will retry", "run_id", id, "executor", p.ex.Name(), "err", err)
		return err // retried by the queue; the handle is not stored, Submit is idempotent
	}
	r.at("start:submitted")
	return r.recordStart(ctx, id, p, h)
}

// What claimStart found the start step has to do.
const (
	startJob      = iota // prepare and submit the job
	startNothing         // nothing to start (ended, or the cancel step has all it needs)
	startPromoted        // the job exists: the run was only brought up to RUNNING
	startGiveUp          // too many attempts: the run must fail
)

// claimStart decides, in one atomic update, what the start step does with run id, and
// counts the attempt when it is to start a job (the run becomes INITIALIZING unless a
// cancel is waiting, see Start).
func (r *Runner) claimStart(ctx context.Context, id string) (*wes.Run, int, []string, error) {
	next := startJob
	var effects []string
	run, err := r.store.Update(ctx, id, func(run *wes.Run) error {
		next, effects = startJob, nil // fn may run more than once
		switch {
		case run.State.Terminal():
			next = startNothing
		case run.Cancelling() && (run.Handle != nil || run.Attempts == 0):
			next = startNothing // the cancel step has all it needs
		case run.Handle != nil:
			if run.State == wes.StateRunning {
				next = startNothing
				break
			}
			run.State = wes.StateRunning
			effects = r.addStateEffects(run, "", nil)
			next = startPromoted
			return nil
		default:
			run.Attempts++
			if run.Attempts > r.cfg.MaxStartAttempts {
				next = startGiveUp
				break
			}
			if !run.Cancelling() {
				run.State = wes.StateInitializing
			}
			return nil
		}
		return errStop
	})
	if errors.Is(err, errStop) {
		return nil, next, nil, nil
	}
	return run, next, effects, err
}

// prepared is a run's job, ready to be submitted.
type prepared struct {
	job      *wes.Job
	ex       wes.Executor
	engineID string // the engine's name, for the RunLog
	prov     *wes.Provenance
}

// prepare finds the run's engine and executor, creates its directories, stages a
// catalogue workflow's pinned files and has the engine prepare the job. A problem that
// retrying cannot fix ends the run (nil, nil); any other error is returned for a retry.
func (r *Runner) prepare(ctx context.Context, run *wes.Run) (*prepared, error) {
	id, log := run.ID, r.log.With("run_id", run.ID, "step", "start")
	engine, ok := r.engines.ByName(run.Engine)
	if !ok {
		return nil, r.fail(ctx, id, wes.StateSystemError,
			fmt.Sprintf("workflow engine %q is not available on this worker", run.Engine))
	}
	ex, err := r.executors.Get(run.Executor)
	if err != nil {
		return nil, r.fail(ctx, id, wes.StateSystemError,
			fmt.Sprintf("executor %q is not available on this worker", run.Executor))
	}
	layout := wes.LayoutFor(r.cfg.DataDir, id)
	if err := os.MkdirAll(layout.LogDir(), 0o750); err != nil {
		log.Error("cannot create the run's log directory", "err", err)
		return nil, wes.Internal(err, "cannot create the run's log directory")
	}
	if err := os.MkdirAll(layout.WorkDir(), 0o750); err != nil {
		log.Error("cannot create the run's work directory", "err", err)
		return nil, wes.Internal(err, "cannot create the run's work directory")
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
			return nil, r.fail(ctx, id, wes.StateSystemError, ref.msg)
		}
		if err != nil {
			log.Error("staging the catalogue workflow failed", "err", err)
			return nil, err // retried
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
			return nil, r.fail(ctx, id, wes.StateExecutorError, msg)
		}
		log.Error("engine prepare failed", "err", err)
		return nil, err // retried
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
	return &prepared{job: job, ex: ex, engineID: engine.Name(), prov: provenanceOf(in.Run, engine, ex, job, r.now())}, nil
}

// recordStart stores the submitted job's Handle before anything else, and then brings
// the run to RUNNING unless a cancel arrived meanwhile, in which case the job is stopped
// now.
func (r *Runner) recordStart(ctx context.Context, id string, p *prepared, h wes.Handle) error {
	log := r.log.With("run_id", id, "step", "start")
	// How the executor confines the job, for the run's system log (no zone paths in it).
	var confined string
	if cr, ok := capability[wes.JobConfinementReporter](p.ex); ok {
		var err error
		if confined, err = cr.JobConfinement(ctx, h); err != nil {
			log.Warn("cannot tell how the job is confined", "executor", p.ex.Name(), "err", err)
		}
	}
	var mustCancel bool
	var effects []string
	run, err := r.store.Update(ctx, id, func(run *wes.Run) error {
		effects = nil // fn may run more than once
		run.Handle = &h
		run.Provenance = p.prov
		run.Log.Name = p.engineID
		run.Log.Cmd = p.job.Argv
		mustCancel = run.Cancelling() || run.State.Terminal()
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
		if err := p.ex.Cancel(ctx, h); err != nil {
			return err // retried: the run has its Handle now, so the cancel step can stop it
		}
		// Finish the cancel here rather than enqueue it: a cancel step still running for
		// this run would make that enqueue a no-op and leave the run CANCELING until the
		// reconciler's next look.
		return r.Cancel(ctx, id)
	}
	r.at("start:stored")
	log.Info("run started", "executor", p.ex.Name(), "engine", p.engineID)
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
	if run.Cancelling() {
		return r.dispatch.Cancel(ctx, id)
	}
	return nil
}
