package runs

import (
	"context"
	"errors"

	"github.com/spe4hd/enclave/pkg/wes"
)

// List returns a page of the runs p may see (its own; everyone's for those who see all
// runs), newest first, each with the tags p may see.
func (s *Service) List(ctx context.Context, p *wes.Principal, size int, token string) ([]RunSummary, string, error) {
	if p == nil {
		return nil, "", errUnauthenticated
	}
	page, err := s.deps.Store.List(ctx, wes.RunFilter{Owner: OwnerFilter(p), PageSize: size, PageToken: token})
	if err != nil {
		return nil, "", err
	}
	out := make([]RunSummary, 0, len(page.Runs))
	for _, r := range page.Runs {
		out = append(out, RunSummary{Run: r, Tags: s.tagsFor(p, r)})
	}
	return out, page.NextPageToken, nil
}

// RunSummary is a run in a list, with the tags its caller may see.
type RunSummary struct {
	Run  *wes.Run
	Tags map[string]string
}

// Status returns run id's state, if p may see the run.
func (s *Service) Status(ctx context.Context, p *wes.Principal, id string) (wes.State, error) {
	r, err := s.Visible(ctx, p, id)
	if err != nil {
		return "", err
	}
	return r.State, nil
}

// RunView is a run as its caller may see it: what the engine wrote (its command line)
// only where the log policy lets them, and zone paths rewritten in everything shown.
type RunView struct {
	Run *wes.Run
	// Tags are the tags the caller may see.
	Tags map[string]string
	// EngineOutput reports whether the caller may read the engine's stdout, stderr and
	// command lines (see engineOutputAccess).
	EngineOutput bool
	// Cmd is the run's command line, rewritten; nil unless EngineOutput.
	Cmd []string
	// SystemLogs are Enclave's messages on the run, rewritten.
	SystemLogs []string
	// Sealed reports whether the run is shown under the sealed zone's rules: only
	// Outputs (what egress released or holds) and never the engine's own output list.
	Sealed  bool
	Outputs []OutputView
	// Reviewer reports whether the caller decides on held outputs (Reviewer): they see
	// the size, sha256 and content type of unreleased outputs too.
	Reviewer bool
}

// Get returns run id as p may see it.
func (s *Service) Get(ctx context.Context, p *wes.Principal, id string) (*RunView, error) {
	r, err := s.Visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	v := &RunView{Run: r, Tags: s.tagsFor(p, r), Sealed: s.sealedRun(r), Reviewer: Reviewer(p)}
	v.EngineOutput, _ = s.engineOutputAccess(p, r)
	// Enclave's messages can quote an executor or engine; neither they nor the command
	// line show a zone path.
	zr := s.zoneRewriter(r)
	if v.EngineOutput {
		v.Cmd = zr.Strings(r.Log.Cmd)
	}
	v.SystemLogs = zr.Strings(r.Log.SystemLogs)
	if v.Sealed {
		v.Outputs = s.OutputViews(ctx, p, r)
	}
	return v, nil
}

// errFinished stops a cancel's store update when the run has already finished.
var errFinished = errors.New("run already finished")

// Cancel stops run id. A finished run is left alone and the call still succeeds;
// otherwise the run is marked CANCELING (wes.Run.RequestCancel, so a start step racing
// with the cancel does not submit the job) and a cancel step is queued. Only the run's
// owner and administrators may cancel: data controllers see every run but only review.
func (s *Service) Cancel(ctx context.Context, p *wes.Principal, id string) (*wes.Run, error) {
	r, err := s.owned(ctx, p, id, "cancel")
	if err != nil {
		return nil, err
	}
	if r.State.Terminal() {
		return r, nil
	}
	_, err = s.deps.Store.Update(ctx, r.ID, func(cur *wes.Run) error {
		if cur.State.Terminal() {
			return errFinished
		}
		cur.RequestCancel()
		return nil
	})
	if errors.Is(err, errFinished) {
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	log := s.log.With("run_id", r.ID)
	log.Info("run cancel requested", "by", p.Subject)
	_ = s.record(ctx, runEvent(p.Subject, actionCancel, "ok", r))
	// The state change is stored, so the request has succeeded even if the queue is
	// unreachable now: the reconciler re-enqueues the cancel of CANCELING runs.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dispatchTimeout)
	defer cancel()
	if err := s.deps.Dispatcher.Cancel(dctx, r.ID); err != nil {
		log.Warn("could not enqueue the cancel step; the reconciler will retry", "err", err)
	}
	return r, nil
}
