package wesclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// ROCrate returns run id's Workflow Run RO-Crate metadata (ro-crate-metadata.json) as
// the server wrote it, checked to be one JSON document. An x-enclave extension: other
// WES servers answer 404.
func (c *Client) ROCrate(ctx context.Context, id string) ([]byte, error) {
	resp, err := okBody(c.api.GetRunROCrate(ctx, id))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSON+1))
	if err != nil {
		return nil, err
	}
	ct := resp.Header.Get("Content-Type")
	if len(body) > maxJSON || !strings.Contains(ct, "json") || !json.Valid(body) {
		return nil, fmt.Errorf("server answered %d with %q, not an RO-Crate metadata document", resp.StatusCode, ct)
	}
	return body, nil
}
