package runs

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Audit actions the API records (the runner and egress record their own).
const (
	actionSubmit    = "run.submit"
	actionRefuse    = "run.refuse"
	actionCancel    = "run.cancel"
	actionDelete    = "run.delete"
	actionDownload  = "output.download"
	actionOutputURL = "output.url" // a presigned URL handed out (Config.PresignedURLs)
	actionReview    = "output.review"
	actionReject    = "egress.reject"
	actionApprove   = "output.approve" // one approval of a file that needs more
	actionExport    = "audit.export"
	actionQuery     = "audit.query" // recorded only when refused
)

// auditTimeout bounds one audit write; it runs even if the client has gone, so a
// decision that was taken is always recorded.
const auditTimeout = 10 * time.Second

// errAuditDown is what a client gets when an action is refused because the audit trail
// cannot record it: in the sealed zone nothing happens that the trail does not know.
var errAuditDown = wes.Errorf(wes.EUNAVAILABLE, "the audit trail cannot be written right now, so nothing was done; try again later")

// record appends e to the audit trail (a no-op without Deps.Audit). The error is for
// callers that must not act unaudited; it is also logged here.
func (s *Service) record(ctx context.Context, e wes.AuditEvent) error {
	if s.deps.Audit == nil {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := s.deps.Audit.Record(actx, e); err != nil {
		s.log.Error("an audit event could not be recorded", "action", e.Action, "run_id", e.RunID, "err", err)
		return err
	}
	return nil
}

// runEvent is an audit event about run r by actor.
func runEvent(actor, action, outcome string, r *wes.Run) wes.AuditEvent {
	return wes.AuditEvent{Actor: actor, Action: action, Outcome: outcome, RunID: r.ID,
		Workflow: r.Workflow, Dataset: strings.Join(r.Datasets, ",")}
}

// submission is what the audit trail records about a POST /runs, filled in as the
// request is read and checked.
type submission struct {
	runID    string
	workflow string // the catalogue id, or what the client sent as workflow_url (clipped)
	datasets []string
	cause    string // "unknown" or "not_allowed" for catalogue refusals
}

// auditRefusal records a refused submission. Internal errors are recorded as such,
// without their cause (that is in the server log).
func (s *Service) auditRefusal(ctx context.Context, p *wes.Principal, sub *submission, err error) {
	outcome := "refused"
	if c := wes.ErrorCode(err); c == wes.EINTERNAL || c == wes.EUNAVAILABLE {
		outcome = "error"
	}
	e := wes.AuditEvent{Actor: p.Subject, Action: actionRefuse, Outcome: outcome, RunID: sub.runID,
		Workflow: truncate(sub.workflow, 100), Dataset: strings.Join(sub.datasets, ","), Reason: wes.ErrorMessage(err)}
	if sub.cause != "" {
		e.Detail = map[string]string{"cause": sub.cause}
	}
	_ = s.record(ctx, e)
}

// requireAdmin refuses callers who are not administrators; a refusal is audited as
// action.
func (s *Service) requireAdmin(ctx context.Context, p *wes.Principal, action string) error {
	if !p.HasRole(wes.RoleAdmin) {
		err := wes.Errorf(wes.EFORBIDDEN, "the audit trail is for administrators (the %s role)", wes.RoleAdmin)
		s.auditForbidden(ctx, p, action, nil, err)
		return err
	}
	return nil
}

func (s *Service) auditLog() (*audit.Log, error) {
	if s.deps.AuditLog == nil {
		return nil, wes.Errorf(wes.ENOTFOUND, "this server keeps no audit trail it could show")
	}
	return s.deps.AuditLog, nil
}

// AuditQuery is a query of the audit trail as a face receives it: times as RFC 3339
// text, checked only once the caller may query at all.
type AuditQuery struct {
	RunID, Actor, Action string
	Since, Until         string // RFC 3339; "" for no bound
	Limit                int
	Cursor               string
}

// AuditQuery returns a page of the audit trail to an administrator; anyone else's attempt
// is refused and audited.
func (s *Service) AuditQuery(ctx context.Context, p *wes.Principal, q AuditQuery) (wes.AuditPage, error) {
	if p == nil {
		return wes.AuditPage{}, errUnauthenticated
	}
	if err := s.requireAdmin(ctx, p, actionQuery); err != nil {
		return wes.AuditPage{}, err
	}
	l, err := s.auditLog()
	if err != nil {
		return wes.AuditPage{}, err
	}
	f := wes.AuditFilter{RunID: q.RunID, Actor: q.Actor, Action: q.Action, Limit: q.Limit, Cursor: q.Cursor}
	if f.Since, err = parseTimeParam("since", q.Since); err != nil {
		return wes.AuditPage{}, err
	}
	if f.Until, err = parseTimeParam("until", q.Until); err != nil {
		return wes.AuditPage{}, err
	}
	if q.Limit < 0 {
		return wes.AuditPage{}, wes.Errorf(wes.EINVALID, "limit must be between 1 and 1000; got %d", q.Limit)
	}
	return l.Query(ctx, f)
}

func parseTimeParam(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, wes.Errorf(wes.EINVALID, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z; got %q", name, truncate(v, 64))
	}
	return t, nil
}

// AuditExport lets an administrator export the whole trail as JSON lines: the export is
// itself audited before anything is written, and the returned function then writes the
// trail to w until it ends or ctx does.
func (s *Service) AuditExport(ctx context.Context, p *wes.Principal) (func(ctx context.Context, w io.Writer) error, error) {
	if p == nil {
		return nil, errUnauthenticated
	}
	if err := s.requireAdmin(ctx, p, actionExport); err != nil {
		return nil, err
	}
	l, err := s.auditLog()
	if err != nil {
		return nil, err
	}
	if s.record(ctx, wes.AuditEvent{Actor: p.Subject, Action: actionExport, Outcome: "ok"}) != nil {
		return nil, errAuditDown
	}
	return l.Export, nil
}
