package httpapi

import (
	"context"
	"encoding/json"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// catalogFor returns the catalogue for a caller of the /catalog endpoints.
func (s *server) catalogFor(ctx context.Context) (*catalog.Catalog, *wes.Principal, error) {
	p, err := callerFrom(ctx)
	if err != nil {
		return nil, nil, err
	}
	cat := s.currentCatalog()
	if cat == nil {
		return nil, nil, wes.Errorf(wes.ENOTFOUND, "this server runs in open mode and has no workflow catalogue")
	}
	return cat, p, nil
}

// ListCatalogWorkflows implements GET /catalog/workflows: the entries the caller may
// run. Nothing about an entry's files or directory is shown.
func (s *server) ListCatalogWorkflows(ctx context.Context, _ api.ListCatalogWorkflowsRequestObject) (api.ListCatalogWorkflowsResponseObject, error) {
	cat, p, err := s.catalogFor(ctx)
	if err != nil {
		return nil, err
	}
	out := api.ListCatalogWorkflows200JSONResponse{Workflows: []api.CatalogWorkflow{}}
	for _, sum := range cat.Visible(p) {
		e, ok := cat.Entry(sum.ID)
		if !ok || s.deps.Engines.State(e.Engine) != engines.StateReady {
			continue // only workflows whose engine is installed and answers are offered
		}
		var schema map[string]any
		if err := json.Unmarshal(sum.ParamsSchema, &schema); err != nil {
			return nil, wes.Internal(err, "the params schema of workflow %s cannot be shown", e.ID)
		}
		w := api.CatalogWorkflow{
			Id: e.ID, Name: e.Name, Version: e.Version, Description: e.Description,
			WorkflowType: e.WorkflowType, WorkflowTypeVersion: e.WorkflowTypeVersion,
			WorkflowEngine: e.Engine, WorkflowEngineVersion: e.EngineVersion,
			ParamsSchema: schema, DatasetParams: e.DatasetParams, Logs: e.Logs, Egress: e.Egress,
		}
		for _, a := range e.AllowedEngineParams {
			w.AllowedEngineParameters = append(w.AllowedEngineParameters, api.AllowedEngineParameter{Name: a.Name, Value: a.Value})
		}
		out.Workflows = append(out.Workflows, w)
	}
	return out, nil
}

// ListCatalogDatasets implements GET /catalog/datasets: ids, names and descriptions of
// the datasets the caller may use, never their paths.
func (s *server) ListCatalogDatasets(ctx context.Context, _ api.ListCatalogDatasetsRequestObject) (api.ListCatalogDatasetsResponseObject, error) {
	cat, p, err := s.catalogFor(ctx)
	if err != nil {
		return nil, err
	}
	out := api.ListCatalogDatasets200JSONResponse{Datasets: []api.CatalogDataset{}}
	for _, d := range cat.VisibleDatasets(p) {
		out.Datasets = append(out.Datasets, api.CatalogDataset{Id: d.ID, Name: d.Name, Description: d.Description})
	}
	return out, nil
}
