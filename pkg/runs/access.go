package runs

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/wes"
)

// validRunID reports whether id is a run id as Enclave makes them: a UUID in its
// canonical lower-case form. Anything else cannot name a run (nor a path in DataDir).
func validRunID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

func runNotFound(id string) error {
	return wes.Errorf(wes.ENOTFOUND, "run %q was not found", truncate(id, 64))
}

// Visible returns run id if p may see it. A malformed id, an unknown one and another
// owner's run are all plain "not found", so a caller learns nothing about runs that are
// not theirs; each of these refusals is audited (rate-limited per caller, see
// auditRunRefusal), so probing for run ids leaves a trace.
func (s *Service) Visible(ctx context.Context, p *wes.Principal, id string) (*wes.Run, error) {
	if p == nil {
		return nil, errUnauthenticated
	}
	if !validRunID(id) {
		s.auditRunRefusal(ctx, p, id, refusedMalformed, nil)
		return nil, runNotFound(id)
	}
	r, err := s.deps.Store.Get(ctx, id)
	if wes.IsCode(err, wes.ENOTFOUND) {
		s.auditRunRefusal(ctx, p, id, refusedUnknown, nil)
		return nil, runNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if r.Owner != p.Subject && !p.SeesAllRuns() {
		s.auditRunRefusal(ctx, p, id, refusedOthers, r)
		return nil, runNotFound(id)
	}
	return r, nil
}

// owned returns run id for an action only its owner and administrators may take (data
// controllers see every run but only review): verb names the action in the refusal,
// which is audited as action run.<verb>.
func (s *Service) owned(ctx context.Context, p *wes.Principal, id, verb string) (*wes.Run, error) {
	r, err := s.Visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if r.Owner != p.Subject && !p.HasRole(wes.RoleAdmin) {
		err := wes.Errorf(wes.EFORBIDDEN, "only the run's owner or an %s may %s run %s", wes.RoleAdmin, verb, r.ID)
		s.auditForbidden(ctx, p, "run."+verb, r, err)
		return nil, err
	}
	return r, nil
}

// Reviewer reports whether p decides on held outputs and so may see what an unreleased
// output is: its size, sha256 and content type. Anyone else, the run's owner included,
// learns only that it is pending or rejected and why; a hash or size of a small file
// held back by review can be enough to recover its content by trying candidates.
func Reviewer(p *wes.Principal) bool {
	return p != nil && (p.HasRole(wes.RoleDataController) || p.HasRole(wes.RoleAdmin))
}

// engineOutputAccess says whether p may read what the workflow engine wrote for run r:
// its stdout and stderr, and the command lines of the run and its tasks (which carry
// parameter values). Runs outside the catalogue show them to whoever sees the run. For a
// catalogue workflow its log policy decides: none (nobody), admin (administrators and
// data controllers; also when the workflow has left the catalogue) or owner (the owner
// too). What is shown has its zone paths rewritten (zoneRewriter); when a dataset the run
// read has left the catalogue its path is unknown and cannot be, so only administrators
// and data controllers see the output then. When access is refused, the reason is a
// sentence for the caller.
func (s *Service) engineOutputAccess(p *wes.Principal, r *wes.Run) (bool, string) {
	if r.Workflow == "" {
		return true, ""
	}
	policy := wes.LogsAdmin
	if cat := s.currentCatalog(); cat != nil {
		if e, ok := cat.Entry(r.Workflow); ok {
			policy = e.Logs
		}
	}
	staff := p.HasRole(wes.RoleAdmin) || p.HasRole(wes.RoleDataController)
	always := "The run's state, times, exit code, task names and Enclave's own messages (run_log.system_logs) are always shown."
	if lost := s.lostDatasets(r); len(lost) > 0 && policy != wes.LogsNone && !staff {
		return false, fmt.Sprintf("the engine output of run %s is shown only to administrators and data controllers now: dataset %s has left the catalogue, so Enclave can no longer hide its location in the output. %s",
			r.ID, strings.Join(lost, ", "), always)
	}
	switch policy {
	case wes.LogsOwner:
		if staff || r.Owner == p.Subject {
			return true, ""
		}
		return false, fmt.Sprintf("the engine output of run %s is shown only to its owner, administrators and data controllers. %s", r.ID, always)
	case wes.LogsAdmin:
		if staff {
			return true, ""
		}
		return false, fmt.Sprintf("workflow %s shows its engine output (which may contain data from inside the zone) only to administrators and data controllers. %s",
			r.Workflow, always)
	}
	return false, fmt.Sprintf("workflow %s does not show its engine output to anyone (it may contain data from inside the zone). %s", r.Workflow, always)
}
