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

// errNoPending stops a release's store update when none of its files is pending any more.
var errNoPending = errors.New("no pending outputs")

// Review decisions.
const (
	Approve = "approve"
	Reject  = "reject"
)

// Decision is a reviewer's decision on a run's held outputs. Without Files, Decision
// (Approve or Reject) and Reason apply to every pending file. With Files, each names one
// pending file and its own decision and reason (empty: Decision's and Reason); the files
// it does not name stay pending. A rejection needs a reason, which the owner is told.
type Decision struct {
	Decision, Reason string
	Files            []FileDecision
}

// FileDecision is a decision on one held file, named by its output path.
type FileDecision struct{ Path, Decision, Reason string }

// Review records a data controller's or administrator's decision on the outputs a
// review-mode workflow holds, file by file: a rejected file stays in the zone with the
// reviewer's reason; an approved one is released (re-checked by the one egress path) once
// as many distinct reviewers as it needs have approved it, and waits for the others until
// then. Nobody decides on their own run, and stewards only on runs over their datasets.
// The decision is audited before it takes effect, and so is each file. It returns the
// run's outputs as they are afterwards. d nil (no decision sent) is refused once the
// caller is known to be a reviewer.
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
	if ownRun(p, r) {
		err := wes.Errorf(wes.EFORBIDDEN, "run %s is your own: its outputs must be reviewed by another data controller", r.ID)
		s.auditForbidden(ctx, p, actionReview, r, err)
		return nil, err
	}
	files, err := planDecision(r, d)
	if err != nil {
		return nil, err
	}
	pol, err := s.reviewPolicy(r, files)
	if err != nil {
		return nil, err
	}
	approve, reject := countDecisions(files)
	ev := runEvent(p.Subject, actionReview, "ok", r)
	ev.Reason = strings.TrimSpace(d.Reason)
	ev.Detail = map[string]string{"decision": decisionWord(approve, reject), "files": strconv.Itoa(len(files)),
		"approved": strconv.Itoa(approve), "rejected": strconv.Itoa(reject)}
	if pendingCount(r) > len(files) {
		ev.Detail["undecided"] = strconv.Itoa(pendingCount(r) - len(files))
	}
	if s.record(ctx, ev) != nil {
		return nil, errAuditDown
	}
	r, ready, err := s.recordDecision(ctx, r, p, files, pol)
	if err != nil {
		return nil, err
	}
	if len(ready) > 0 {
		if r, err = s.approveOutputs(ctx, r, p, pol, ready, decisionWord(approve, reject)); err != nil {
			return nil, err
		}
	}
	return s.outputList(ctx, p, r), nil
}

// ownRun reports whether r is p's own run for separation of duties: whoever ran the
// workflow neither decides what leaves the zone from it nor inspects what it holds,
// whatever roles they hold. (With authentication off there is only the anonymous user,
// for demos and tests: nobody else could review.)
func ownRun(p *wes.Principal, r *wes.Run) bool {
	return r.Owner == p.Subject && p.Subject != wes.Anonymous.Subject
}

// planDecision turns d into one decision per file, each checked: a known output of r
// waiting for review, named once, approve or reject, and a reason where one is needed.
func planDecision(r *wes.Run, d *Decision) ([]FileDecision, error) {
	if d == nil || (d.Decision == "" && len(d.Files) == 0) {
		return nil, wes.Errorf(wes.EINVALID, `the body must be a JSON object such as {"decision": "approve"}, {"decision": "reject", "reason": "..."} or {"files": [{"path": "...", "decision": "reject", "reason": "..."}]}`)
	}
	if err := checkReason("reason", d.Reason); err != nil {
		return nil, err
	}
	if d.Decision != "" && d.Decision != Approve && d.Decision != Reject {
		return nil, wes.Errorf(wes.EINVALID, "decision must be approve or reject; got %q", truncate(d.Decision, 32))
	}
	pending := pendingCount(r)
	if pending == 0 {
		return nil, wes.Errorf(wes.ECONFLICT, "run %s (%s) has no outputs waiting for review", r.ID, r.State)
	}
	var out []FileDecision
	if len(d.Files) == 0 {
		for _, o := range r.Released {
			if o.Status == wes.OutputPending {
				out = append(out, FileDecision{Path: o.Path, Decision: d.Decision, Reason: strings.TrimSpace(d.Reason)})
			}
		}
	} else {
		if len(d.Files) > len(r.Released) {
			return nil, wes.Errorf(wes.EINVALID, "files names %d files; run %s has %d outputs", len(d.Files), r.ID, len(r.Released))
		}
		seen := map[string]bool{}
		for i, f := range d.Files {
			where := fmt.Sprintf("files[%d]", i)
			o, ok := findOutput(r, f.Path)
			switch {
			case !ok:
				return nil, wes.Errorf(wes.EINVALID, "%s.path: run %s has no output %q", where, r.ID, truncate(f.Path, 200))
			case seen[f.Path]:
				return nil, wes.Errorf(wes.EINVALID, "%s.path: %q is named twice", where, truncate(f.Path, 200))
			case o.Status != wes.OutputPending:
				return nil, wes.Errorf(wes.ECONFLICT, "%s.path: %q is %s, not waiting for review", where, truncate(f.Path, 200), o.Status)
			}
			seen[f.Path] = true
			fd := FileDecision{Path: f.Path, Decision: f.Decision, Reason: strings.TrimSpace(f.Reason)}
			if fd.Decision == "" {
				fd.Decision = d.Decision
			}
			if fd.Reason == "" {
				fd.Reason = strings.TrimSpace(d.Reason)
			}
			if fd.Decision != Approve && fd.Decision != Reject {
				return nil, wes.Errorf(wes.EINVALID, "%s.decision must be approve or reject; got %q", where, truncate(fd.Decision, 32))
			}
			if err := checkReason(where+".reason", fd.Reason); err != nil {
				return nil, err
			}
			out = append(out, fd)
		}
	}
	for _, f := range out {
		if f.Decision == Reject && f.Reason == "" {
			return nil, wes.Errorf(wes.EINVALID, "a reason is required to reject %q: the run's owner is told why", truncate(f.Path, 200))
		}
	}
	return out, nil
}

func checkReason(field, reason string) error {
	switch {
	case len(reason) > maxReasonBytes:
		return wes.Errorf(wes.EINVALID, "%s is longer than %d bytes", field, maxReasonBytes)
	case strings.IndexFunc(reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0:
		return wes.Errorf(wes.EINVALID, "%s contains control characters", field)
	}
	return nil
}

func pendingCount(r *wes.Run) int {
	n := 0
	for _, o := range r.Released {
		if o.Status == wes.OutputPending {
			n++
		}
	}
	return n
}

func countDecisions(files []FileDecision) (approve, reject int) {
	for _, f := range files {
		if f.Decision == Approve {
			approve++
		} else {
			reject++
		}
	}
	return approve, reject
}

func decisionWord(approve, reject int) string {
	switch {
	case reject == 0:
		return Approve
	case approve == 0:
		return Reject
	}
	return "mixed"
}

// reviewPolicy is the output policy approvals are checked against: the workflow's entry
// in the current catalogue. Only a decision that approves needs it (and the result store
// the approved files are released to).
func (s *Service) reviewPolicy(r *wes.Run, files []FileDecision) (wes.OutputPolicy, error) {
	if approve, _ := countDecisions(files); approve == 0 {
		return wes.OutputPolicy{}, nil
	}
	cat := s.currentCatalog()
	if cat == nil || s.deps.Results == nil {
		return wes.OutputPolicy{}, wes.Errorf(wes.EUNAVAILABLE, "this server has no catalogue or result store to release outputs with")
	}
	e, ok := cat.Entry(r.Workflow)
	if !ok {
		return wes.OutputPolicy{}, wes.Errorf(wes.ECONFLICT, "workflow %q is no longer in the catalogue, so the outputs of run %s cannot be checked against its allow-list; they stay pending", r.Workflow, r.ID)
	}
	return e.Outputs, nil
}

// decisionConflict is a decision the stored run no longer allows (another reviewer
// decided meanwhile, or the caller approved before): the update stops with it.
type decisionConflict struct{ msg string }

func (e *decisionConflict) Error() string { return e.msg }

// recordDecision stores each file's decision in one atomic update: a rejection with its
// reason, an approval as the reviewer's name among the file's approvers. It returns the
// run and the approved files that now have all the approvals they need, to be released.
// A file approved before by the same reviewer is refused, unless it already has all its
// approvals (its release was interrupted), in which case it is released now.
func (s *Service) recordDecision(ctx context.Context, r *wes.Run, p *wes.Principal, files []FileDecision, pol wes.OutputPolicy) (*wes.Run, []wes.Output, error) {
	floor := egress.RequiredApprovals(pol, s.cfg.EgressLimits)
	var ready, waiting []wes.Output
	var rejected []FileDecision
	updated, err := s.deps.Store.Update(ctx, r.ID, func(cur *wes.Run) error {
		ready, waiting, rejected = ready[:0], waiting[:0], rejected[:0]
		for _, f := range files {
			i := slices.IndexFunc(cur.Released, func(o wes.Output) bool { return o.Path == f.Path })
			if i < 0 || cur.Released[i].Status != wes.OutputPending {
				return &decisionConflict{fmt.Sprintf("another reviewer decided on %q of run %s meanwhile", f.Path, r.ID)}
			}
			o := &cur.Released[i]
			if f.Decision == Reject {
				o.Status, o.Reason = wes.OutputRejected, f.Reason
				rejected = append(rejected, f)
				continue
			}
			need := max(o.ApprovalsRequired, floor)
			if slices.Contains(o.ApprovedBy, p.Subject) {
				if len(o.ApprovedBy) < need {
					return &decisionConflict{fmt.Sprintf("you have already approved %q of run %s: it needs %d more approval(s) from other reviewers", f.Path, r.ID, need-len(o.ApprovedBy))}
				}
			} else {
				o.ApprovedBy = append(o.ApprovedBy, p.Subject)
			}
			o.ApprovalsRequired = need
			if len(o.ApprovedBy) >= need {
				ready = append(ready, *o)
			} else {
				waiting = append(waiting, *o)
			}
		}
		cur.AddSystemLog(fmt.Sprintf("a data controller decided on %d file(s): %d rejected, %d approved and to be released, %d approved and waiting for another reviewer",
			len(files), len(rejected), len(ready), len(waiting)))
		for _, reason := range rejectionReasons(rejected) {
			cur.AddSystemLog("a data controller rejected " + reason)
		}
		if len(ready) == 0 {
			noteOutcome(cur)
			if len(rejected) > 0 { // a decision that changed a file's status; approvals are told when released
				s.notify(cur, wes.NoticeReviewDecided, Reject)
			}
		}
		return nil
	})
	var conflict *decisionConflict
	if errors.As(err, &conflict) {
		return nil, nil, wes.Errorf(wes.ECONFLICT, "%s", conflict.msg)
	}
	if err != nil {
		return nil, nil, err
	}
	s.sendNotices(ctx, updated)
	for _, f := range rejected {
		ev := runEvent(p.Subject, actionReject, "refused", r)
		ev.Reason = f.Path + " rejected by a data controller: " + f.Reason
		o, _ := findOutput(updated, f.Path)
		ev.Detail = outputDetail(o)
		_ = s.record(ctx, ev)
	}
	for _, o := range waiting {
		ev := runEvent(p.Subject, actionApprove, "ok", r)
		ev.Reason = fmt.Sprintf("%s approved (%d of %d approvals); it waits for another reviewer", o.Path, len(o.ApprovedBy), o.ApprovalsRequired)
		ev.Detail = outputDetail(o)
		ev.Detail["approvals"] = strconv.Itoa(len(o.ApprovedBy))
		ev.Detail["approvals_required"] = strconv.Itoa(o.ApprovalsRequired)
		_ = s.record(ctx, ev)
	}
	return updated, ready, nil
}

// rejectionReasons are the rejected files grouped by reason, one line each ("a.csv,
// b.csv: why"), in the order the reasons first occur.
func rejectionReasons(rejected []FileDecision) []string {
	var order []string
	paths := map[string][]string{}
	for _, f := range rejected {
		if _, ok := paths[f.Reason]; !ok {
			order = append(order, f.Reason)
		}
		paths[f.Reason] = append(paths[f.Reason], f.Path)
	}
	out := make([]string, len(order))
	for i, r := range order {
		out[i] = strings.Join(paths[r], ", ") + ": " + r
	}
	return out
}

// noteOutcome records in cur's log how its review ended once no file waits any more: a
// partial release (some files released, others not) is said as such.
func noteOutcome(cur *wes.Run) {
	released, total := 0, len(cur.Released)
	for _, o := range cur.Released {
		switch o.Status {
		case wes.OutputPending:
			return
		case wes.OutputReleased:
			released++
		}
	}
	switch {
	case released == total:
		cur.AddSystemLog(fmt.Sprintf("review complete: all %d output(s) released", total))
	case released == 0:
		cur.AddSystemLog(fmt.Sprintf("review complete: none of the %d output(s) released", total))
	default:
		cur.AddSystemLog(fmt.Sprintf("review complete, partial release: %d of %d output(s) released, the others rejected", released, total))
	}
}

// approveOutputs releases r's approved outputs through the one egress path
// (egress.Releaser.Approve), which re-checks each against the workflow's current
// allow-list pol and limits and the sha256 recorded when the run ended, and records each
// file's new state, with the notices of the review's decision (approve, or mixed when
// it also rejected files) and of the release.
func (s *Service) approveOutputs(ctx context.Context, r *wes.Run, p *wes.Principal, pol wes.OutputPolicy, approved []wes.Output, decision string) (*wes.Run, error) {
	rel := s.releaser()
	workDir := wes.LayoutFor(s.cfg.DataDir, r.ID).WorkDir()
	decided, stored, err := rel.Approve(ctx, r, workDir, pol, approved, p.Subject)
	if err != nil {
		return nil, err
	}
	released := 0
	updated, err := s.deps.Store.Update(ctx, r.ID, func(cur *wes.Run) error {
		n := 0
		released = 0
		for i, o := range cur.Released {
			if d, ok := decided[o.Path]; ok && o.Status == wes.OutputPending {
				d.ApprovedBy, d.ApprovalsRequired = o.ApprovedBy, o.ApprovalsRequired
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
		cur.AddSystemLog(fmt.Sprintf("approved outputs: %d released, %d withheld because they changed", released, n-released))
		noteOutcome(cur)
		s.notify(cur, wes.NoticeReviewDecided, decision)
		if released > 0 {
			s.notify(cur, wes.NoticeOutputReleased, "")
		}
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
	s.sendNotices(ctx, updated)
	return updated, nil
}

// releaser is the one egress path, with the service's result store, limits and trail.
func (s *Service) releaser() *egress.Releaser {
	return &egress.Releaser{Results: s.deps.Results, Limits: s.cfg.EgressLimits, Audit: s.deps.Audit, Log: s.log, Metrics: s.deps.Metrics}
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
