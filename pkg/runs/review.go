package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

const maxReasonBytes = 1000

// errNoPending stops a review's store update when no output is pending any more.
var errNoPending = errors.New("no pending outputs")

// Review decisions.
const (
	Approve = "approve"
	Reject  = "reject"
)

// Decision is a reviewer's decision on a run's held outputs: Approve or Reject, with a
// reason the owner is told (required to reject).
type Decision struct{ Decision, Reason string }

// Review records a data controller's or administrator's decision on the outputs a
// review-mode workflow holds: approve (each re-checked and released) or reject (with a
// reason the owner sees). The decision is audited before it takes effect, and so is each
// file. It returns the run's outputs as they are afterwards.
// d nil (no decision sent) is refused once the caller is known to be a reviewer.
func (s *Service) Review(ctx context.Context, p *wes.Principal, id string, d *Decision) (*OutputList, error) {
	r, err := s.Visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !Reviewer(p) {
		// The owner approving their own held outputs is what review exists to prevent:
		// the attempt is audited.
		err := wes.Errorf(wes.EFORBIDDEN, "reviewing outputs needs the %s or %s role", wes.RoleDataController, wes.RoleAdmin)
		s.auditForbidden(ctx, p, actionReview, r, err)
		return nil, err
	}
	if err := s.stewardOf(p, r); err != nil {
		s.auditForbidden(ctx, p, actionReview, r, err)
		return nil, err
	}
	if r.Owner == p.Subject && p.Subject != wes.Anonymous.Subject {
		// Separation of duties: whoever ran the workflow does not decide what leaves the
		// zone from it, whatever roles they hold. (With authentication off there is only
		// the anonymous user, for demos and tests: nobody else could review.)
		err := wes.Errorf(wes.EFORBIDDEN, "run %s is your own: its outputs must be reviewed by another data controller", r.ID)
		s.auditForbidden(ctx, p, actionReview, r, err)
		return nil, err
	}
	if d == nil {
		return nil, wes.Errorf(wes.EINVALID, `the body must be a JSON object such as {"decision": "approve"} or {"decision": "reject", "reason": "..."}`)
	}
	decision, reason := d.Decision, strings.TrimSpace(d.Reason)
	switch {
	case decision != Approve && decision != Reject:
		return nil, wes.Errorf(wes.EINVALID, "decision must be approve or reject; got %q", truncate(decision, 32))
	case len(reason) > maxReasonBytes:
		return nil, wes.Errorf(wes.EINVALID, "reason is longer than %d bytes", maxReasonBytes)
	case strings.IndexFunc(reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0:
		return nil, wes.Errorf(wes.EINVALID, "reason contains control characters")
	case decision == Reject && reason == "":
		return nil, wes.Errorf(wes.EINVALID, "reason is required to reject outputs: the run's owner is told why")
	}
	var pending []wes.Output
	for _, o := range r.Released {
		if o.Status == wes.OutputPending {
			pending = append(pending, o)
		}
	}
	if len(pending) == 0 {
		return nil, wes.Errorf(wes.ECONFLICT, "run %s (%s) has no outputs waiting for review", r.ID, r.State)
	}
	ev := runEvent(p.Subject, actionReview, "ok", r)
	ev.Reason = reason
	ev.Detail = map[string]string{"decision": decision, "files": strconv.Itoa(len(pending))}
	if s.record(ctx, ev) != nil {
		return nil, errAuditDown
	}
	if decision == Reject {
		r, err = s.rejectOutputs(ctx, r, p, reason)
	} else {
		r, err = s.approveOutputs(ctx, r, p, pending)
	}
	if err != nil {
		return nil, err
	}
	return s.outputList(ctx, p, r), nil
}

func (s *Service) rejectOutputs(ctx context.Context, r *wes.Run, p *wes.Principal, reason string) (*wes.Run, error) {
	var rejected []wes.Output
	updated, err := s.deps.Store.Update(ctx, r.ID, func(cur *wes.Run) error {
		rejected = rejected[:0]
		for i, o := range cur.Released {
			if o.Status == wes.OutputPending {
				cur.Released[i].Status, cur.Released[i].Reason = wes.OutputRejected, reason
				rejected = append(rejected, o)
			}
		}
		if len(rejected) == 0 {
			return errNoPending
		}
		cur.AddSystemLog("a data controller rejected the run's outputs: " + reason)
		return nil
	})
	if errors.Is(err, errNoPending) {
		return nil, wes.Errorf(wes.ECONFLICT, "another reviewer decided on the outputs of run %s meanwhile", r.ID)
	}
	if err != nil {
		return nil, err
	}
	for _, o := range rejected {
		ev := runEvent(p.Subject, actionReject, "refused", r)
		ev.Reason = o.Path + " rejected by a data controller: " + reason
		ev.Detail = outputDetail(o)
		_ = s.record(ctx, ev)
	}
	return updated, nil
}

// approveOutputs releases r's pending outputs through the one egress path
// (egress.Releaser.Approve), which re-checks each against the workflow's current
// allow-list and limits and the sha256 recorded when the run ended, and records each
// file's new state.
func (s *Service) approveOutputs(ctx context.Context, r *wes.Run, p *wes.Principal, pending []wes.Output) (*wes.Run, error) {
	cat := s.currentCatalog()
	if cat == nil || s.deps.Results == nil {
		return nil, wes.Errorf(wes.EUNAVAILABLE, "this server has no catalogue or result store to release outputs with")
	}
	e, ok := cat.Entry(r.Workflow)
	if !ok {
		return nil, wes.Errorf(wes.ECONFLICT, "workflow %q is no longer in the catalogue, so the outputs of run %s cannot be checked against its allow-list; they stay pending", r.Workflow, r.ID)
	}
	rel := s.releaser()
	workDir := wes.LayoutFor(s.cfg.DataDir, r.ID).WorkDir()
	decided, stored, err := rel.Approve(ctx, r, workDir, e.Outputs, pending, p.Subject)
	if err != nil {
		return nil, err
	}
	released := 0
	updated, err := s.deps.Store.Update(ctx, r.ID, func(cur *wes.Run) error {
		n := 0
		released = 0
		for i, o := range cur.Released {
			if d, ok := decided[o.Path]; ok && o.Status == wes.OutputPending {
				cur.Released[i] = d
				n++
				if d.Status == wes.OutputReleased {
					released++
				}
			}
		}
		if n == 0 {
			return errNoPending
		}
		cur.AddSystemLog(fmt.Sprintf("a data controller approved the run's outputs: %d released, %d withheld because they changed", released, n-released))
		return nil
	})
	if errors.Is(err, errNoPending) {
		rel.Discard(ctx, r.ID, stored)
		return nil, wes.Errorf(wes.ECONFLICT, "another reviewer decided on the outputs of run %s meanwhile", r.ID)
	}
	if err != nil {
		rel.Discard(ctx, r.ID, stored)
		return nil, err
	}
	return updated, nil
}

// releaser is the one egress path, with the service's result store, limits and trail.
func (s *Service) releaser() *egress.Releaser {
	return &egress.Releaser{Results: s.deps.Results, Limits: s.cfg.EgressLimits, Audit: s.deps.Audit, Log: s.log}
}

// outputDetail is the audit detail of one output.
func outputDetail(o wes.Output) map[string]string {
	return map[string]string{"path": o.Path, "size": strconv.FormatInt(o.Size, 10), "sha256": o.SHA256}
}

// stewardOf refuses a data controller who is not a steward of every dataset run r read
// that names stewards (the catalogue's datasets[].stewards groups): they review only runs
// over their datasets. A dataset that left the catalogue is reviewed by administrators
// only, since its stewards are no longer known. Administrators review every run.
func (s *Service) stewardOf(p *wes.Principal, r *wes.Run) error {
	if p.HasRole(wes.RoleAdmin) || len(r.Datasets) == 0 {
		return nil
	}
	cat := s.currentCatalog()
	for _, id := range r.Datasets {
		var stewards []string
		ok := false
		if cat != nil {
			stewards, ok = cat.Stewards(id)
		}
		switch {
		case !ok:
			return wes.Errorf(wes.EFORBIDDEN, "run %s read dataset %s, which has left the catalogue: only an %s may review its outputs", r.ID, id, wes.RoleAdmin)
		case len(stewards) > 0 && !slices.ContainsFunc(stewards, func(g string) bool { return slices.Contains(p.Groups, g) }):
			return wes.Errorf(wes.EFORBIDDEN, "run %s read dataset %s, whose outputs are reviewed by its stewards (%s) only", r.ID, id, strings.Join(stewards, ", "))
		}
	}
	return nil
}
