package httpapi

import (
	"context"
	"io"

	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// ListAuditCheckpoints implements GET /audit/checkpoints: the stored checkpoints as JSON
// lines, streamed (runs.Service.AuditCheckpoints).
func (s *server) ListAuditCheckpoints(ctx context.Context, _ api.ListAuditCheckpointsRequestObject) (api.ListAuditCheckpointsResponseObject, error) {
	write, err := s.runs.AuditCheckpoints(ctx, wes.PrincipalFromContext(ctx))
	if err != nil {
		return nil, err
	}
	// As in ExportAudit: the writer outlives this call, so it uses the request's context.
	if gc, ok := ctx.(*gin.Context); ok {
		ctx = gc.Request.Context()
	}
	pr, pw := io.Pipe()
	go func() {
		err := write(ctx, pw)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("the list of audit checkpoints ended early", "err", err)
		}
		pw.CloseWithError(err)
	}()
	return api.ListAuditCheckpoints200ApplicationxNdjsonResponse{Body: pr}, nil
}
