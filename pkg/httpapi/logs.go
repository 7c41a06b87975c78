package httpapi

import (
	"context"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// GetRunLogStream implements GET /runs/{run_id}/logs/{stream}: the engine's stdout or
// stderr from the byte offset on, with zone paths rewritten (zoneRewriter). Offsets count
// the raw bytes of the file. The file may still be growing: the answer covers what it
// held when opened, up to where a path could still be forming (redact.Rewriter.Section),
// and X-Enclave-Next-Offset says where the next read starts, so a client that follows
// the log by it sees every path rewritten, never cut.
func (s *server) GetRunLogStream(ctx context.Context, req api.GetRunLogStreamRequestObject) (api.GetRunLogStreamResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	body, next, err := s.runs.LogSection(ctx, p, req.RunId, string(req.Stream), req.Params.Offset)
	if err != nil {
		return nil, err
	}
	return api.GetRunLogStream200TextplainCharsetUtf8Response{
		Body:    body,
		Headers: api.GetRunLogStream200ResponseHeaders{XEnclaveNextOffset: next},
	}, nil
}
