package httpapi

import (
	"context"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// ListCatalogWorkflows implements GET /catalog/workflows: the entries the caller may
// run. Nothing about an entry's files or directory is shown.
func (s *server) ListCatalogWorkflows(ctx context.Context, _ api.ListCatalogWorkflowsRequestObject) (api.ListCatalogWorkflowsResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	ws, err := s.runs.CatalogWorkflows(ctx, p)
	if err != nil {
		return nil, err
	}
	out := api.ListCatalogWorkflows200JSONResponse{Workflows: []api.CatalogWorkflow{}}
	for _, e := range ws {
		w := api.CatalogWorkflow{
			Id: e.ID, Name: e.Name, Version: e.Version, Description: e.Description,
			WorkflowType: e.WorkflowType, WorkflowTypeVersion: e.WorkflowTypeVersion,
			WorkflowEngine: e.Engine, WorkflowEngineVersion: e.EngineVersion,
			ParamsSchema: e.ParamsSchema, DatasetParams: e.DatasetParams, Logs: e.Logs, Egress: e.Egress,
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
	p := wes.PrincipalFromContext(ctx)
	ds, err := s.runs.CatalogDatasets(ctx, p)
	if err != nil {
		return nil, err
	}
	out := api.ListCatalogDatasets200JSONResponse{Datasets: []api.CatalogDataset{}}
	for _, d := range ds {
		out.Datasets = append(out.Datasets, api.CatalogDataset{Id: d.ID, Name: d.Name, Description: d.Description})
	}
	return out, nil
}
