package httpapi

import (
	"context"
	"io"

	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// QueryAudit implements GET /audit (runs.Service.AuditQuery).
func (s *server) QueryAudit(ctx context.Context, req api.QueryAuditRequestObject) (api.QueryAuditResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	q := req.Params
	page, err := s.runs.AuditQuery(ctx, p, runs.AuditQuery{RunID: q.RunId, Actor: q.Actor, Action: q.Action,
		Since: q.Since, Until: q.Until, Limit: int(q.Limit), Cursor: q.Cursor})
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

// ExportAudit implements GET /audit/export: the whole trail as JSON lines, streamed.
// The export is itself audited, before anything is sent (runs.Service.AuditExport).
func (s *server) ExportAudit(ctx context.Context, _ api.ExportAuditRequestObject) (api.ExportAuditResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	export, err := s.runs.AuditExport(ctx, p)
	if err != nil {
		return nil, err
	}
	// The goroutine outlives this call, and gin recycles its context after the request:
	// use the request's own context, cancelled when the request ends.
	if gc, ok := ctx.(*gin.Context); ok {
		ctx = gc.Request.Context()
	}
	pr, pw := io.Pipe()
	go func() {
		// The response writer closes pr when it is done or the client has gone, which
		// ends the export with a write error.
		err := export(ctx, pw)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("the audit export ended early", "err", err)
		}
		pw.CloseWithError(err)
	}()
	return api.ExportAudit200ApplicationxNdjsonResponse{Body: pr}, nil
}
