package wesclient

import (
	"context"
	"io"
)

// ListAuditCheckpoints starts reading the stored checkpoints of the audit chain as JSON
// lines (administrators; audit.ReadCheckpoints parses them); the caller reads and
// closes it.
func (c *Client) ListAuditCheckpoints(ctx context.Context) (io.ReadCloser, error) {
	resp, err := okBody(c.api.ListAuditCheckpoints(ctx))
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
