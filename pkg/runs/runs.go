package runs

import (
	"context"
	"errors"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// ListFilter narrows a run list; every field set must match. The faces pass what the
// caller asked for; List checks it.
type ListFilter struct {
	State    string            // a WES state
	Workflow string            // a catalogue workflow id
	Review   string            // "pending": the review queue
	Owner    string            // a user's subject; others' only for callers who see all runs
	Tags     map[string]string // tags the run carries and the caller may see
}

// ReviewPending is ListFilter.Review's one value.
const ReviewPending = "pending"

// maxFilterTags bounds the tags one list may filter by.
const maxFilterTags = 10

// List returns a page of the runs p may see (their own, or everyone's for those who see
// all runs) that match lf, newest first, with the token of the next page.
func (s *Service) List(ctx context.Context, p *wes.Principal, size int, token string, lf ListFilter) ([]RunSummary, string, error) {
	if p == nil {
		return nil, "", errUnauthenticated
	}
	f, err := s.runFilter(p, lf)
	if err != nil {
		return nil, "", err
	}
	f.PageSize, f.PageToken = size, token
	page, err := s.deps.Store.List(ctx, f)
	if err != nil {
		return nil, "", err
	}
	out := make([]RunSummary, 0, len(page.Runs))
	for _, r := range page.Runs {
		out = append(out, RunSummary{Run: r, Tags: s.tagsFor(p, r)})
	}
	return out, page.NextPageToken, nil
}

// runFilter checks lf and turns it into the store's filter for p.
func (s *Service) runFilter(p *wes.Principal, lf ListFilter) (wes.RunFilter, error) {
	f := wes.RunFilter{Owner: OwnerFilter(p), State: wes.State(lf.State), Workflow: lf.Workflow}
	if lf.State != "" && !f.State.Valid() {
		return f, wes.Errorf(wes.EINVALID, "state %q is not a WES state; use one of %s", truncate(lf.State, 32), stateNames())
	}
	switch lf.Review {
	case "":
	case ReviewPending:
		f.ReviewPending = true
	default:
		return f, wes.Errorf(wes.EINVALID, "review %q is not a review status; the one filter is review=pending", truncate(lf.Review, 32))
	}
	if len(lf.Workflow) > 200 {
		return f, wes.Errorf(wes.EINVALID, "workflow is longer than 200 bytes")
	}
	if lf.Owner != "" {
		if f.Owner != "" && lf.Owner != p.Subject {
			return f, wes.Errorf(wes.EFORBIDDEN, "only %ss and %ss may list other users' runs; leave owner out to list your own", wes.RoleDataController, wes.RoleAdmin)
		}
		f.Owner = lf.Owner
	}
	if len(lf.Tags) > maxFilterTags {
		return f, wes.Errorf(wes.EINVALID, "at most %d tag filters", maxFilterTags)
	}
	if len(lf.Tags) > 0 {
		tags := lf.Tags
		f.Match = func(r *wes.Run) bool {
			seen := s.tagsFor(p, r)
			for k, v := range tags {
				if got, ok := seen[k]; !ok || got != v {
					return false
				}
			}
			return true
		}
	}
	return f, nil
}

func stateNames() string {
	names := make([]string, len(wes.AllStates))
	for i, st := range wes.AllStates {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// RunSummary is a run in a list, with the tags its caller may see.
type RunSummary struct {
	Run  *wes.Run
	Tags map[string]string
}

// Status returns run id's state, if p may see the run. It reads only the run's head
// (visibleHead): status is what clients poll.
func (s *Service) Status(ctx context.Context, p *wes.Principal, id string) (wes.State, error) {
	h, err := s.visibleHead(ctx, p, id)
	if err != nil {
		return "", err
	}
	return h.State, nil
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
