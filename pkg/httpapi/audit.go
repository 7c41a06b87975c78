package httpapi

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/api"
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
func (s *server) record(ctx context.Context, e wes.AuditEvent) error {
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
func (s *server) auditRefusal(ctx context.Context, p *wes.Principal, sub *submission, err error) {
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
func (s *server) requireAdmin(ctx context.Context, action string) (*wes.Principal, error) {
	p, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.HasRole(wes.RoleAdmin) {
		err := wes.Errorf(wes.EFORBIDDEN, "the audit trail is for administrators (the %s role)", wes.RoleAdmin)
		s.auditForbidden(ctx, p, action, nil, err)
		return nil, err
	}
	return p, nil
}

func (s *server) auditLog() (*audit.Log, error) {
	if s.deps.AuditLog == nil {
		return nil, wes.Errorf(wes.ENOTFOUND, "this server keeps no audit trail it could show")
	}
	return s.deps.AuditLog, nil
}

// QueryAudit implements GET /audit.
func (s *server) QueryAudit(ctx context.Context, req api.QueryAuditRequestObject) (api.QueryAuditResponseObject, error) {
	if _, err := s.requireAdmin(ctx, actionQuery); err != nil {
		return nil, err
	}
	l, err := s.auditLog()
	if err != nil {
		return nil, err
	}
	q := req.Params
	f := audit.Filter{RunID: q.RunId, Actor: q.Actor, Action: q.Action, Limit: int(q.Limit), Cursor: q.Cursor}
	if f.Since, err = parseTimeParam("since", q.Since); err != nil {
		return nil, err
	}
	if f.Until, err = parseTimeParam("until", q.Until); err != nil {
		return nil, err
	}
	if q.Limit < 0 {
		return nil, wes.Errorf(wes.EINVALID, "limit must be between 1 and 1000; got %d", q.Limit)
	}
	page, err := l.Query(ctx, f)
	if err != nil {
		return nil, err
	}
	out := api.QueryAudit200JSONResponse{Entries: make([]api.AuditEntry, 0, len(page.Entries)), NextCursor: page.Next}
	for _, e := range page.Entries {
		ev := e.Event
		out.Entries = append(out.Entries, api.AuditEntry{Seq: e.Seq, Id: e.ID, Prev: e.Prev, Hash: e.Hash,
			Event: api.AuditEvent{Time: ev.Time, Actor: ev.Actor, Action: ev.Action, Outcome: ev.Outcome, RunId: ev.RunID,
				Workflow: ev.Workflow, Dataset: ev.Dataset, Reason: ev.Reason, Detail: ev.Detail}})
	}
	return out, nil
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

// ExportAudit implements GET /audit/export: the whole trail as JSON lines, streamed.
// The export is itself audited, before anything is sent.
func (s *server) ExportAudit(ctx context.Context, _ api.ExportAuditRequestObject) (api.ExportAuditResponseObject, error) {
	p, err := s.requireAdmin(ctx, actionExport)
	if err != nil {
		return nil, err
	}
	l, err := s.auditLog()
	if err != nil {
		return nil, err
	}
	if s.record(ctx, wes.AuditEvent{Actor: p.Subject, Action: actionExport, Outcome: "ok"}) != nil {
		return nil, errAuditDown
	}
	// The goroutine outlives this call, and gin recycles its context after the request:
	// use the request's own context, cancelled when the request ends.
	if gc, ok := ctx.(*gin.Context); ok {
		ctx = gc.Request.Context()
	}
	pr, pw := io.Pipe()
	go func() {
		// The response writer closes pr when it is done or the client has gone, which
		// ends Export with a write error.
		err := l.Export(ctx, pw)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("the audit export ended early", "err", err)
		}
		pw.CloseWithError(err)
	}()
	return api.ExportAudit200ApplicationxNdjsonResponse{Body: pr}, nil
}
