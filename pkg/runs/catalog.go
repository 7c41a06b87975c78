package runs

import (
	"context"
	"encoding/json"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// CatalogWorkflow is a catalogue workflow as a researcher sees it.
type CatalogWorkflow struct {
	ID, Name, Version, Description    string
	WorkflowType, WorkflowTypeVersion string
	Engine, EngineVersion             string
	ParamsSchema                      map[string]any
	DatasetParams                     []string // the parameters that take dataset ids
	Logs, Egress                      string   // the log and output policies
	AllowedEngineParams               []EngineParamValue
	// Outputs is what the workflow may release: its allow-list globs (relative to the
	// run's work dir, never a zone path), limits, disclosure checks and approvals.
	Outputs wes.OutputPolicy
}

// EngineParamValue is an engine parameter a run may send; Value is fixed when given.
type EngineParamValue struct{ Name, Value string }

// CatalogDataset is a catalogue dataset as a researcher sees it: never its path.
type CatalogDataset struct{ ID, Name, Description string }

// catalogFor returns the catalogue in use for p, or ENOTFOUND when the server has none.
func (s *Service) catalogFor(p *wes.Principal) (*catalog.Catalog, error) {
	if p == nil {
		return nil, errUnauthenticated
	}
	cat := s.currentCatalog()
	if cat == nil {
		return nil, wes.Errorf(wes.ENOTFOUND, "this server runs in open mode and has no workflow catalogue")
	}
	return cat, nil
}

// CatalogWorkflows lists the catalogue workflows p may run whose engine is installed and
// answers.
func (s *Service) CatalogWorkflows(_ context.Context, p *wes.Principal) ([]CatalogWorkflow, error) {
	cat, err := s.catalogFor(p)
	if err != nil {
		return nil, err
	}
	out := []CatalogWorkflow{}
	for _, sum := range cat.Visible(p) {
		e, ok := cat.Entry(sum.ID)
		if !ok || s.deps.Engines.State(e.Engine) != engines.StateReady {
			continue // only workflows whose engine is installed and answers are offered
		}
		var schema map[string]any
		if err := json.Unmarshal(sum.ParamsSchema, &schema); err != nil {
			return nil, wes.Internal(err, "the params schema of workflow %s cannot be shown", e.ID)
		}
		w := CatalogWorkflow{
			ID: e.ID, Name: e.Name, Version: e.Version, Description: e.Description,
			WorkflowType: e.WorkflowType, WorkflowTypeVersion: e.WorkflowTypeVersion,
			Engine: e.Engine, EngineVersion: e.EngineVersion,
			ParamsSchema: schema, DatasetParams: e.DatasetParams, Logs: e.Logs, Egress: e.Egress, Outputs: e.Outputs,
		}
		for _, a := range e.AllowedEngineParams {
			w.AllowedEngineParams = append(w.AllowedEngineParams, EngineParamValue{Name: a.Name, Value: a.Value})
		}
		out = append(out, w)
	}
	return out, nil
}

// CatalogDatasets lists the catalogue datasets p may use.
func (s *Service) CatalogDatasets(_ context.Context, p *wes.Principal) ([]CatalogDataset, error) {
	cat, err := s.catalogFor(p)
	if err != nil {
		return nil, err
	}
	out := []CatalogDataset{}
	for _, d := range cat.VisibleDatasets(p) {
		out = append(out, CatalogDataset{ID: d.ID, Name: d.Name, Description: d.Description})
	}
	return out, nil
}
