package httpapi

import (
	"bytes"
	"context"
	"slices"
	"strconv"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/openapi"
	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// GetServiceInfo implements GET /service-info. Engines are asked for their versions on
// every call, so versions discovered after start-up show up without a restart.
func (s *server) GetServiceInfo(ctx context.Context, _ api.GetServiceInfoRequestObject) (api.GetServiceInfoResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	got, err := s.runs.StateCounts(ctx, p)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(got))
	for st, n := range got {
		counts[string(st)] = n
	}
	si := s.cfg.ServiceInfo
	offered := s.runs.Offered(p)
	out := api.GetServiceInfo200JSONResponse{
		Id:                              si.ID,
		Name:                            si.Name,
		Type:                            api.ServiceType{Group: "org.ga4gh", Artifact: "wes", Version: "1.1.0"},
		Description:                     si.Description,
		Organization:                    api.ServiceOrganization{Name: si.OrganizationName, Url: si.OrganizationURL},
		ContactUrl:                      si.ContactURL,
		DocumentationUrl:                si.DocumentationURL,
		CreatedAt:                       si.CreatedAt.UTC(),
		UpdatedAt:                       si.UpdatedAt.UTC(),
		Environment:                     si.Environment,
		Version:                         si.Version,
		WorkflowTypeVersions:            map[string]api.WorkflowTypeVersion{},
		SupportedWesVersions:            []string{"1.1.0"},
		SupportedFilesystemProtocols:    []string{"file"},
		WorkflowEngineVersions:          map[string]api.WorkflowEngineVersion{},
		DefaultWorkflowEngineParameters: []api.DefaultWorkflowEngineParameter{},
		SystemStateCounts:               counts,
		AuthInstructionsUrl:             si.AuthInstructionsURL,
		Tags:                            s.serviceTags(),
		ExecutorConfinement:             executorConfinement(si.Confinement),
		ExecutorAdmission:               executorAdmission(s.runs.Admission(ctx, p, si.MaxRunning)),
	}
	for t, vs := range offered.TypeVersions {
		out.WorkflowTypeVersions[t] = api.WorkflowTypeVersion{WorkflowTypeVersion: vs}
	}
	for e, vs := range offered.EngineVersions {
		out.WorkflowEngineVersions[e] = api.WorkflowEngineVersion{WorkflowEngineVersion: vs}
	}
	for _, d := range offered.DefaultParams {
		out.DefaultWorkflowEngineParameters = append(out.DefaultWorkflowEngineParameters,
			api.DefaultWorkflowEngineParameter{Name: d.Name, Type: d.Type, DefaultValue: d.Default})
	}
	return out, nil
}

// executorConfinement renders what each executor says about how it confines jobs.
func executorConfinement(in map[string]wes.Confinement) map[string]api.ExecutorConfinement {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]api.ExecutorConfinement, len(in))
	for name, c := range in {
		ec := api.ExecutorConfinement{Mechanisms: slices.Clone(c.Mechanisms), Policy: c.Policy, Problem: c.Problem}
		if ec.Mechanisms == nil {
			ec.Mechanisms = []string{}
		}
		out[name] = ec
	}
	return out
}

// executorAdmission renders each limited executor's slots (runs.Service.Admission).
func executorAdmission(in map[string]runs.Occupancy) map[string]api.ExecutorAdmission {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]api.ExecutorAdmission, len(in))
	for name, o := range in {
		out[name] = api.ExecutorAdmission{MaxRunning: o.MaxRunning, Running: o.Running, Waiting: o.Waiting}
	}
	return out
}

// serviceTags are the configured extra tags plus Enclave's own facts, which win.
func (s *server) serviceTags() map[string]string {
	tags := map[string]string{}
	for k, v := range s.cfg.ServiceInfo.Tags {
		tags[k] = v
	}
	tags["auth_mode"] = s.cfg.AuthMode
	tags["default_executor"] = s.runs.DefaultExecutor()
	tags["max_page_size"] = strconv.Itoa(s.cfg.MaxPageSize)
	tags["default_page_size"] = strconv.Itoa(s.cfg.DefaultPageSize)
	tags["max_request_bytes"] = strconv.FormatInt(s.cfg.MaxRequestBytes, 10)
	tags["max_attachment_bytes"] = strconv.FormatInt(s.cfg.MaxAttachmentBytes, 10)
	tags["max_parts"] = strconv.Itoa(s.cfg.MaxParts)
	tags["remote_workflow_urls"] = "unsupported"
	tags["mode"] = s.runs.Mode()
	if s.runs.Sealed() {
		tags["workflow_attachments"] = "refused"
		tags["catalog"] = "GET " + BasePath + "/catalog/workflows"
	}
	return tags
}

// GetOpenAPIDocument implements GET /openapi.yaml: the document api/ is generated from.
func (s *server) GetOpenAPIDocument(context.Context, api.GetOpenAPIDocumentRequestObject) (api.GetOpenAPIDocumentResponseObject, error) {
	return api.GetOpenAPIDocument200ApplicationyamlResponse{
		Body:          bytes.NewReader(openapi.WES),
		ContentLength: int64(len(openapi.WES)),
	}, nil
}
