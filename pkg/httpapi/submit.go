package httpapi

import (
	"context"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// RunWorkflow implements POST /runs. The body is streamed: attachments go straight into
// the new run's work directory (runs.Draft), which the run service removes again if the
// run is not stored. The service checks, audits and stores the run (runs.Service.Submit).
func (s *server) RunWorkflow(ctx context.Context, req api.RunWorkflowRequestObject) (_ api.RunWorkflowResponseObject, err error) {
	p := wes.PrincipalFromContext(ctx)
	key, hasKey := idemKeyFrom(ctx)
	d, err := s.runs.BeginSubmit(ctx, p, key, hasKey)
	if err != nil {
		return nil, err
	}
	defer func() { d.End(ctx, err) }()

	form, err := s.readRunForm(req.Body, d.Root())
	if err != nil {
		return nil, err
	}
	d.SetWorkflow(form.fields["workflow_url"])
	var hash string
	if hasKey {
		if hash, err = requestHash(form, d.Root()); err != nil {
			return nil, err
		}
	}
	rr, err := buildRunRequest(form, s.runs.CatalogueRun(form.fields["workflow_url"], len(form.attachments)))
	if err != nil {
		return nil, err
	}
	id, err := s.runs.Submit(ctx, d, rr, hash)
	if err != nil {
		return nil, err
	}
	return api.RunWorkflow200JSONResponse{RunId: id}, nil
}
