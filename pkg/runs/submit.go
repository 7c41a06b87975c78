package runs

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// A submission goes in three steps, so that a face can stream attachments straight into
// the zone: BeginSubmit makes the run's id and work directory (Draft), the face writes the
// attachments into Draft.Root and builds the request, Submit checks and stores the run,
// and Draft.End finishes: it audits a refusal, removes the directory of a run that was
// not stored and settles the idempotency key. Every submission and every refusal is
// audited.

// Draft is a submission being received.
type Draft struct {
	s      *Service
	p      *wes.Principal
	id     string
	layout wes.Layout
	root   *os.Root
	sub    submission
	stored bool
	// The idempotency key, when the client sent one, and the claim Submit made on it.
	key     string
	hasKey  bool
	claim   wes.IdemClaim
	claimed bool
}

// BeginSubmit starts a submission by p with the client's idempotency key (hasKey false:
// none): it checks that p may submit and the key's form, and creates the run's work
// directory. A refusal is audited here.
func (s *Service) BeginSubmit(ctx context.Context, p *wes.Principal, key string, hasKey bool) (_ *Draft, err error) {
	if p == nil {
		return nil, errUnauthenticated
	}
	d := &Draft{s: s, p: p, key: key, hasKey: hasKey}
	defer func() {
		if err != nil {
			s.auditRefusal(ctx, p, &d.sub, err)
		}
	}()
	if !p.HasRole(wes.RoleResearcher) {
		return nil, wes.Errorf(wes.EFORBIDDEN, "submitting runs needs the %s role; ask the service's operators for it", wes.RoleResearcher)
	}
	if hasKey {
		if err := checkIdemKey(key); err != nil {
			return nil, err
		}
	}
	u, err := uuid.NewV7()
	if err != nil {
		return nil, wes.Internal(err, "could not make a run id")
	}
	d.id = u.String()
	d.sub.runID = d.id
	d.layout = wes.LayoutFor(s.cfg.DataDir, d.id)
	if d.root, err = makeWorkDir(d.layout); err != nil {
		return nil, err
	}
	return d, nil
}

// ID is the run id the submission will have.
func (d *Draft) ID() string { return d.id }

// Root is the run's work directory, for the attachments.
func (d *Draft) Root() *os.Root { return d.root }

// SetWorkflow notes what the client sent as workflow_url, for the audit trail of a
// refusal (clipped there).
func (d *Draft) SetWorkflow(url string) { d.sub.workflow = url }

// End finishes the submission: err is how it ended (nil: stored or answered with an
// earlier run). A refusal is audited, the directory of a run that was not stored is
// removed, and a claimed idempotency key is completed (stored) or released for a retry.
func (d *Draft) End(ctx context.Context, err error) {
	s := d.s
	if err != nil {
		s.auditRefusal(ctx, d.p, &d.sub, err)
	}
	d.root.Close()
	if !d.stored {
		if err := os.RemoveAll(d.layout.Root); err != nil {
			s.log.Error("could not remove the directory of a refused run", "run_id", d.id, "err", err)
		}
	}
	if !d.claimed {
		return
	}
	// Not stored: the key is free again for a retry. Stored: it names this run.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dispatchTimeout)
	defer cancel()
	if d.stored {
		err = s.deps.Idempotency.Complete(rctx, d.p.Subject, d.key, d.claim, s.cfg.IdempotencyWindow)
	} else {
		err = s.deps.Idempotency.Release(rctx, d.p.Subject, d.key, d.id)
	}
	if err != nil {
		s.log.Warn("could not update an idempotency key; it expires on its own", "run_id", d.id, "err", err)
	}
}

// Submit checks the request and stores the run QUEUED, then queues its start step; if
// queueing fails the run stays QUEUED and the reconciler enqueues it later, so the
// submission still succeeds. hash identifies the request for its idempotency key: a
// retry with the same key and hash gets the earlier run's id. A catalogue run must name a
// workflow the caller may use (authorizeSealed). It returns the run's id.
func (s *Service) Submit(ctx context.Context, d *Draft, rr *wes.RunRequest, hash string) (string, error) {
	p, id := d.p, d.id
	if d.hasKey && s.deps.Idempotency != nil {
		d.claim = wes.IdemClaim{Hash: hash, RunID: id}
		res, err := s.claimIdemKey(ctx, p.Subject, d.key, d.claim)
		if err != nil {
			return "", err
		}
		d.claimed = res.claimed
		if res.repeat != "" {
			// The run exists already; this request's files are removed by End.
			s.log.Info("repeated submission answered with the earlier run", "run_id", res.repeat, "owner", p.Subject)
			return res.repeat, nil
		}
	}
	zoned := s.CatalogueRun(rr.WorkflowURL, len(rr.Attachments))
	if zoned {
		if err := checkSealedTags(rr.Tags); err != nil {
			return "", err
		}
	}
	now := time.Now().UTC()
	run := &wes.Run{
		ID:        id,
		Owner:     p.Subject,
		State:     wes.StateQueued,
		Executor:  s.cfg.DefaultExecutor,
		WorkDir:   d.layout.WorkDir(),
		CreatedAt: now,
		UpdatedAt: now,
	}
	run.OwnerEmail = s.ownerEmail(p) // where their notices are mailed (notify.go)
	var sr *sealedRequest
	if zoned {
		var err error
		if sr, err = s.authorizeSealed(p, rr, &d.sub); err != nil {
			return "", err
		}
		run.Workflow, run.Datasets = sr.entry.ID, sr.datasets
		run.Engine, run.EngineVer = sr.engine.Name(), sr.version
	} else {
		eng, ver, err := s.deps.Engines.Resolve(rr.WorkflowType, rr.WorkflowTypeVersion, rr.WorkflowEngine, rr.WorkflowEngineVersion)
		if err != nil {
			return "", err
		}
		if err := engines.ValidateParams(eng, ver, rr.WorkflowEngineParameters); err != nil {
			return "", err
		}
		// Relative input paths name attachments, which are in the work dir by now.
		if err := engines.CheckInputs(eng, d.layout.WorkDir(), rr.WorkflowParams); err != nil {
			return "", err
		}
		run.Engine, run.EngineVer = eng.Name(), ver
	}
	run.Provenance = submittedProvenance(sr, run)
	if err := s.checkSubmit(p, run.Executor, rr.WorkflowEngineParameters); err != nil {
		return "", err
	}
	run.Request = *rr

	// The body has been read in full: finish even if the client goes away now, so a run
	// is never half-created.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dispatchTimeout)
	defer cancel()
	// Audited before it is stored: a run the trail does not know must not exist.
	ev := runEvent(p.Subject, actionSubmit, "ok", run)
	ev.Detail = map[string]string{"engine": run.Engine, "engine_version": run.EngineVer}
	if v := run.Provenance.WorkflowVersion; v != "" {
		ev.Detail["workflow_version"] = v
	}
	if s.record(sctx, ev) != nil {
		return "", errAuditDown
	}
	if err := s.deps.Store.Create(sctx, run); err != nil {
		// The trail already says "ok": it gets the real outcome as a follow-up event
		// (besides the run.refuse End records).
		// Should that append fail too, the trail is left claiming a run that does not
		// exist (never the other way round), and the server log has both errors.
		fail := runEvent(p.Subject, actionSubmit, "error", run)
		fail.Reason = wes.ErrorMessage(err)
		_ = s.record(sctx, fail)
		return "", err
	}
	d.stored = true
	log := s.log.With("run_id", id)
	log.Info("run submitted", "owner", p.Subject, "engine", run.Engine, "engine_version", run.EngineVer,
		"workflow", run.Workflow, "attachments", len(rr.Attachments))
	if err := s.deps.Dispatcher.Start(sctx, id); err != nil {
		log.Warn("could not enqueue the start step; the run stays QUEUED for the reconciler", "err", err)
	}
	return id, nil
}

// makeWorkDir creates the run's directory and work directory (0750) and opens the work
// directory as an os.Root. The run directory must not exist yet.
func makeWorkDir(l wes.Layout) (*os.Root, error) {
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
