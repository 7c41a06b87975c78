package httpapi

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// RunWorkflow implements POST /runs. The body is streamed: attachments go straight into
// the new run's work directory, which is removed again if anything fails before the run
// is stored. The run is stored QUEUED and its start step queued; if queueing fails the
// run stays QUEUED and the reconciler enqueues it later, so the request still succeeds.
// In the sealed zone the run must name a catalogue workflow the caller may use (see
// authorizeSealed). Every submission and every refusal is audited.
func (s *server) RunWorkflow(ctx context.Context, req api.RunWorkflowRequestObject) (_ api.RunWorkflowResponseObject, err error) {
	p, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	sub := &submission{}
	defer func() {
		if err != nil {
			s.auditRefusal(ctx, p, sub, err)
		}
	}()
	if !p.HasRole(wes.RoleResearcher) {
		return nil, wes.Errorf(wes.EFORBIDDEN, "submitting runs needs the %s role; ask the service's operators for it", wes.RoleResearcher)
	}
	idemKey, hasIdemKey := idemKeyFrom(ctx)
	if hasIdemKey {
		if err := checkIdemKey(idemKey); err != nil {
			return nil, err
		}
	}
	u, err := uuid.NewV7()
	if err != nil {
		return nil, wes.Internal(err, "could not make a run id")
	}
	id := u.String()
	sub.runID = id
	layout := wes.LayoutFor(s.cfg.DataDir, id)
	root, err := s.makeWorkDir(layout)
	if err != nil {
		return nil, err
	}
	stored := false
	defer func() {
		root.Close()
		if !stored {
			if err := os.RemoveAll(layout.Root); err != nil {
				s.log.Error("could not remove the directory of a refused run", "run_id", id, "err", err)
			}
		}
	}()

	form, err := s.readRunForm(req.Body, root)
	if err != nil {
		return nil, err
	}
	var claim wes.IdemClaim
	if hasIdemKey && s.deps.Idempotency != nil {
		if claim.Hash, err = requestHash(form, root); err != nil {
			return nil, err
		}
		claim.RunID = id
		res, err := s.claimIdemKey(ctx, p.Subject, idemKey, claim)
		if err != nil {
			return nil, err
		}
		if res.repeat != "" {
			// The run exists already; this request's files are removed by the defer above.
			s.log.Info("repeated submission answered with the earlier run", "run_id", res.repeat, "owner", p.Subject)
			return api.RunWorkflow200JSONResponse{RunId: res.repeat}, nil
		}
		defer func() {
			// Not stored: the key is free again for a retry. Stored: it names this run.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dispatchTimeout)
			defer cancel()
			var err error
			if stored {
				err = s.deps.Idempotency.Complete(rctx, p.Subject, idemKey, claim, s.cfg.IdempotencyWindow)
			} else {
				err = s.deps.Idempotency.Release(rctx, p.Subject, idemKey, id)
			}
			if err != nil {
				s.log.Warn("could not update an idempotency key; it expires on its own", "run_id", id, "err", err)
			}
		}()
	}
	sub.workflow = form.fields["workflow_url"]
	zoned := s.catalogueRun(form)
	rr, err := buildRunRequest(form, zoned)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	run := &wes.Run{
		ID:        id,
		Owner:     p.Subject,
		State:     wes.StateQueued,
		Executor:  s.cfg.DefaultExecutor,
		WorkDir:   layout.WorkDir(),
		CreatedAt: now,
		UpdatedAt: now,
	}
	if zoned {
		sr, err := s.authorizeSealed(p, rr, sub)
		if err != nil {
			return nil, err
		}
		run.Workflow, run.Datasets = sr.entry.ID, sr.datasets
		run.Engine, run.EngineVer = sr.engine.Name(), sr.version
	} else {
		eng, ver, err := s.deps.Engines.Resolve(rr.WorkflowType, rr.WorkflowTypeVersion, rr.WorkflowEngine, rr.WorkflowEngineVersion)
		if err != nil {
			return nil, err
		}
		if err := engines.ValidateParams(eng, ver, rr.WorkflowEngineParameters); err != nil {
			return nil, err
		}
		// Relative input paths name attachments, which are in the work dir by now.
		if err := engines.CheckInputs(eng, layout.WorkDir(), rr.WorkflowParams); err != nil {
			return nil, err
		}
		run.Engine, run.EngineVer = eng.Name(), ver
	}
	if err := s.checkSubmit(p, run.Executor, rr.WorkflowEngineParameters); err != nil {
		return nil, err
	}
	run.Request = *rr

	// The body has been read in full: finish even if the client goes away now, so a run
	// is never half-created.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dispatchTimeout)
	defer cancel()
	// Audited before it is stored: a run the trail does not know must not exist.
	ev := runEvent(p.Subject, actionSubmit, "ok", run)
	ev.Detail = map[string]string{"engine": run.Engine, "engine_version": run.EngineVer}
	if s.record(sctx, ev) != nil {
		return nil, errAuditDown
	}
	if err := s.deps.Store.Create(sctx, run); err != nil {
		// The trail already says "ok": it gets the real outcome as a follow-up event
		// (besides the run.refuse the deferred auditRefusal records).
		// Should that append fail too, the trail is left claiming a run that does not
		// exist (never the other way round), and the server log has both errors.
		fail := runEvent(p.Subject, actionSubmit, "error", run)
		fail.Reason = wes.ErrorMessage(err)
		_ = s.record(sctx, fail)
		return nil, err
	}
	stored = true
	log := s.log.With("run_id", id)
	log.Info("run submitted", "owner", p.Subject, "engine", run.Engine, "engine_version", run.EngineVer,
		"workflow", run.Workflow, "attachments", len(form.attachments))
	if err := s.deps.Dispatcher.Start(sctx, id); err != nil {
		log.Warn("could not enqueue the start step; the run stays QUEUED for the reconciler", "err", err)
	}
	return api.RunWorkflow200JSONResponse{RunId: id}, nil
}

// makeWorkDir creates the run's directory and work directory (0750) and opens the work
// directory as an os.Root. The run directory must not exist yet.
func (s *server) makeWorkDir(l wes.Layout) (*os.Root, error) {
	if err := os.MkdirAll(filepath.Dir(l.Root), 0o750); err != nil {
		return nil, wes.Internal(err, "could not create the runs directory")
	}
	if err := os.Mkdir(l.Root, 0o750); err != nil {
		return nil, wes.Internal(err, "could not create the run directory")
	}
	if err := os.Mkdir(l.WorkDir(), 0o750); err != nil {
		_ = os.RemoveAll(l.Root)
		return nil, wes.Internal(err, "could not create the work directory")
	}
	root, err := os.OpenRoot(l.WorkDir())
	if err != nil {
		_ = os.RemoveAll(l.Root)
		return nil, wes.Internal(err, "could not open the work directory")
	}
	return root, nil
}
