package main

import (
	"context"
	"io"
	"net/http"

	"github.com/spe4hd/enclave/api"
)

// The client side of Enclave's sealed-zone extensions (tag Enclave in openapi/wes.yaml):
// the catalogue, run outputs, review, deletion and the audit trail. Other WES servers
// answer these with 404.

func (c *wesClient) catalogWorkflows(ctx context.Context) (api.CatalogWorkflowList, error) {
	r, err := c.api.ListCatalogWorkflowsWithResponse(ctx)
	if err != nil {
		return api.CatalogWorkflowList{}, err
	}
	return decoded(r.JSON200, r.HTTPResponse, r.Body)
}

func (c *wesClient) catalogDatasets(ctx context.Context) (api.CatalogDatasetList, error) {
	r, err := c.api.ListCatalogDatasetsWithResponse(ctx)
	if err != nil {
		return api.CatalogDatasetList{}, err
	}
	return decoded(r.JSON200, r.HTTPResponse, r.Body)
}

func (c *wesClient) outputs(ctx context.Context, id string) (api.RunOutputList, error) {
	r, err := c.api.ListRunOutputsWithResponse(ctx, id)
	if err != nil {
		return api.RunOutputList{}, err
	}
	return decoded(r.JSON200, r.HTTPResponse, r.Body)
}

func (c *wesClient) review(ctx context.Context, id string, rv api.OutputReview) (api.RunOutputList, error) {
	r, err := c.api.ReviewRunOutputsWithResponse(ctx, id, rv)
	if err != nil {
		return api.RunOutputList{}, err
	}
	return decoded(r.JSON200, r.HTTPResponse, r.Body)
}

func (c *wesClient) deleteRun(ctx context.Context, id string) (string, error) {
	r, err := c.api.DeleteRunWithResponse(ctx, id)
	if err != nil {
		return "", err
	}
	v, err := decoded(r.JSON200, r.HTTPResponse, r.Body)
	if err == nil && v.RunId == "" {
		v.RunId = id
	}
	return v.RunId, err
}

func (c *wesClient) queryAudit(ctx context.Context, q api.QueryAuditParams) (api.AuditPage, error) {
	r, err := c.api.QueryAuditWithResponse(ctx, &q)
	if err != nil {
		return api.AuditPage{}, err
	}
	return decoded(r.JSON200, r.HTTPResponse, r.Body)
}

// download starts the download of one released output; the caller reads and closes the
// body. The generated client writes each "/" of the path as %2F, as the API asks.
func (c *wesClient) download(ctx context.Context, id, path string) (*http.Response, error) {
	resp, err := c.api.DownloadRunOutput(ctx, id, path)
	if err != nil {
		return nil, err
	}
	return okStream(resp)
}

// exportAudit starts the export of the whole audit trail (JSON lines); the caller reads
// and closes the body.
func (c *wesClient) exportAudit(ctx context.Context) (*http.Response, error) {
	resp, err := c.api.ExportAudit(ctx)
	if err != nil {
		return nil, err
	}
	return okStream(resp)
}

// okStream returns resp for a 2xx answer, to be read as a stream, and otherwise closes
// it and returns the *apiError.
func okStream(resp *http.Response) (*http.Response, error) {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return nil, check(resp, body)
}
