package wesclient

import (
	"context"
	"fmt"
	"io"

	"github.com/spe4hd/enclave/api"
)

// The x-enclave extensions of the sealed zone: the catalogue, run outputs and their
// review and download, and the audit trail. Other WES servers answer them with 404.

// CatalogWorkflows lists the catalogue workflows the caller may run.
func (c *Client) CatalogWorkflows(ctx context.Context) (api.CatalogWorkflowList, error) {
	return decode[api.CatalogWorkflowList](c.api.ListCatalogWorkflows(ctx))
}

// CatalogDatasets lists the datasets the caller may name in a catalogue run.
func (c *Client) CatalogDatasets(ctx context.Context) (api.CatalogDatasetList, error) {
	return decode[api.CatalogDatasetList](c.api.ListCatalogDatasets(ctx))
}

// Outputs lists run id's outputs: released, pending review or rejected.
func (c *Client) Outputs(ctx context.Context, id string) (api.RunOutputList, error) {
	return decode[api.RunOutputList](c.api.ListRunOutputs(ctx, id))
}

// Review approves or rejects run id's pending outputs (data controllers) and returns
// the outputs after the decision.
func (c *Client) Review(ctx context.Context, id string, rv api.OutputReview) (api.RunOutputList, error) {
	return decode[api.RunOutputList](c.api.ReviewRunOutputs(ctx, id, rv))
}

// QueryAudit returns one page of the audit trail (administrators).
func (c *Client) QueryAudit(ctx context.Context, q api.QueryAuditParams) (api.AuditPage, error) {
	return decode[api.AuditPage](c.api.QueryAudit(ctx, &q))
}

// ExportAudit starts the export of the whole audit trail as JSON lines (administrators);
// the caller reads and closes it.
func (c *Client) ExportAudit(ctx context.Context) (io.ReadCloser, error) {
	resp, err := okBody(c.api.ExportAudit(ctx))
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Download is a released output being downloaded; the caller reads and closes it.
type Download struct {
	io.ReadCloser
	// SHA256 is the sha256 the server says it sends (X-Enclave-SHA256), "" if it says none.
	SHA256 string
}

// Download starts the download of the released output path of run id. The generated
// client writes each "/" of the path as %2F, as the API asks.
func (c *Client) Download(ctx context.Context, id, path string) (*Download, error) {
	resp, err := okBody(c.api.DownloadRunOutput(ctx, id, path))
	if err != nil {
		return nil, err
	}
	return &Download{ReadCloser: resp.Body, SHA256: resp.Header.Get("X-Enclave-SHA256")}, nil
}

// NoOutputError is ReleasedOutput's error for a path the run does not list.
type NoOutputError struct{ RunID, Path string }

func (e *NoOutputError) Error() string {
	return fmt.Sprintf("run %s has no output %q", e.RunID, e.Path)
}

// ReleasedOutput returns the output path of run id as listed, if it was released and
// has a sha256 to check a download against, and otherwise an error saying why not.
func (c *Client) ReleasedOutput(ctx context.Context, id, path string) (api.RunOutput, error) {
	list, err := c.Outputs(ctx, id)
	if err != nil {
		return api.RunOutput{}, err
	}
	for _, out := range list.Outputs {
		if out.Path != path {
			continue
		}
		switch {
		case out.Status == api.RunOutputStatusPending:
			return out, fmt.Errorf("output %q of run %s is waiting for a data controller's review", out.Path, id)
		case out.Status != api.RunOutputStatusReleased:
			return out, fmt.Errorf("output %q of run %s is %q, not released", out.Path, id, out.Status)
		case out.Sha256 == "":
			return out, fmt.Errorf("the server lists no sha256 for output %q of run %s, so a download cannot be checked", out.Path, id)
		}
		return out, nil
	}
	return api.RunOutput{}, &NoOutputError{RunID: id, Path: path}
}
