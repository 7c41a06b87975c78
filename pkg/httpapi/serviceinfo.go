package httpapi

import (
	"bytes"
	"context"
	"slices"
	"strconv"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/openapi"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// GetServiceInfo implements GET /service-info. Engines are asked for their versions on
// every call, so versions discovered after start-up show up without a restart.
func (s *server) GetServiceInfo(ctx context.Context, _ api.GetServiceInfoRequestObject) (api.GetServiceInfoResponseObject, error) {
	counts, err := s.stateCounts(ctx)
	if err != nil {
		return nil, err
	}
	si := s.cfg.ServiceInfo
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
		ExecutorAdmission:               s.executorAdmission(ctx),
	}
	if s.sealed() {
		s.sealedServiceInfo(ctx, &out)
		return out, nil
	}
	seenParam := map[api.DefaultWorkflowEngineParameter]bool{}
	// Only engines that are installed and answered (a configured version list does not
	// advertise an absent program, nor one still being checked).
	for _, e := range s.deps.Engines.Available() {
		t := out.WorkflowTypeVersions[e.WorkflowType()]
		for _, v := range e.TypeVersions() {
			if !slices.Contains(t.WorkflowTypeVersion, v) {
				t.WorkflowTypeVersion = append(t.WorkflowTypeVersion, v)
			}
		}
		out.WorkflowTypeVersions[e.WorkflowType()] = t
		out.WorkflowEngineVersions[e.Name()] = api.WorkflowEngineVersion{WorkflowEngineVersion: slices.Clone(e.Versions())}
		for _, p := range withExecutorParams(e) {
			d := api.DefaultWorkflowEngineParameter{Name: p.Name, Type: p.Type, DefaultValue: p.Default}
			if !seenParam[d] {
				seenParam[d] = true
				out.DefaultWorkflowEngineParameters = append(out.DefaultWorkflowEngineParameters, d)
			}
		}
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

// executorAdmission shows each limited executor's max_running and, to callers who see
// every run, how many runs hold its slots and wait for one: others' activity is not a
// researcher's to see. A count that cannot be read is left out rather than failing
// service-info.
func (s *server) executorAdmission(ctx context.Context) map[string]api.ExecutorAdmission {
	if len(s.cfg.ServiceInfo.MaxRunning) == 0 {
		return nil
	}
	p := wes.PrincipalFromContext(ctx)
	seesAll := p != nil && ownerFilter(p) == ""
	out := make(map[string]api.ExecutorAdmission, len(s.cfg.ServiceInfo.MaxRunning))
	for name, n := range s.cfg.ServiceInfo.MaxRunning {
		a := api.ExecutorAdmission{MaxRunning: n}
		if seesAll && s.deps.Admission != nil {
			if running, waiting, err := s.deps.Admission.Occupancy(ctx, name); err == nil {
				a.Running, a.Waiting = running, waiting
			} else {
				s.log.Warn("cannot count the executor's slots for service-info", "executor", name, "err", err)
			}
		}
		out[name] = a
	}
	return out
}

// stateCounts counts the caller's runs per state (everyone's for those who see all
// runs), with every WES state present. An anonymous caller of this public endpoint
// gets zeros.
func (s *server) stateCounts(ctx context.Context) (map[string]int64, error) {
	counts := make(map[string]int64, len(wes.AllStates))
	for _, st := range wes.AllStates {
		counts[string(st)] = 0
	}
	p := wes.PrincipalFromContext(ctx)
	if p == nil {
		return counts, nil
	}
	got, err := s.deps.Store.StateCounts(ctx, ownerFilter(p))
	if err != nil {
		return nil, err
	}
	for st, n := range got {
		if st.Valid() {
			counts[string(st)] = n
		}
	}
	return counts, nil
}

// serviceTags are the configured extra tags plus Enclave's own facts, which win.
func (s *server) serviceTags() map[string]string {
	tags := map[string]string{}
	for k, v := range s.cfg.ServiceInfo.Tags {
		tags[k] = v
	}
	tags["auth_mode"] = s.cfg.AuthMode
	tags["default_executor"] = s.cfg.DefaultExecutor
	tags["max_page_size"] = strconv.Itoa(s.cfg.MaxPageSize)
	tags["default_page_size"] = strconv.Itoa(s.cfg.DefaultPageSize)
	tags["max_request_bytes"] = strconv.FormatInt(s.cfg.MaxRequestBytes, 10)
	tags["max_attachment_bytes"] = strconv.FormatInt(s.cfg.MaxAttachmentBytes, 10)
	tags["max_parts"] = strconv.Itoa(s.cfg.MaxParts)
	tags["remote_workflow_urls"] = "unsupported"
	tags["mode"] = s.cfg.Mode
	if s.sealed() {
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

// sealedServiceInfo fills the workflow fields of service-info from the catalogue: only
// the catalogue's workflow types, the engines that run them, and the engine parameters
// of the workflows the caller may run (none for an anonymous caller).
func (s *server) sealedServiceInfo(ctx context.Context, out *api.GetServiceInfo200JSONResponse) {
	cat := s.currentCatalog()
	types := cat.WorkflowTypes()
	for _, e := range s.deps.Engines.Available() {
		if vs, ok := types[e.WorkflowType()]; ok {
			out.WorkflowTypeVersions[e.WorkflowType()] = api.WorkflowTypeVersion{WorkflowTypeVersion: vs}
			out.WorkflowEngineVersions[e.Name()] = api.WorkflowEngineVersion{WorkflowEngineVersion: slices.Clone(e.Versions())}
		}
	}
	p := wes.PrincipalFromContext(ctx)
	if p == nil {
		return
	}
	seen := map[api.DefaultWorkflowEngineParameter]bool{}
	for _, sum := range cat.Visible(p) {
		entry, ok := cat.Entry(sum.ID)
		if !ok {
			continue
		}
		eng, ok := s.deps.Engines.ByName(entry.Engine)
		if !ok {
			continue
		}
		params := withExecutorParams(eng)
		for _, a := range entry.AllowedEngineParams {
			i := slices.IndexFunc(params, func(ep wes.EngineParam) bool { return ep.Name == a.Name })
			if i < 0 {
				continue
			}
			ep := params[i]
			d := api.DefaultWorkflowEngineParameter{Name: a.Name, Type: ep.Type, DefaultValue: ep.Default}
			if a.Value != "" {
				d.DefaultValue = a.Value
			}
			if !seen[d] {
				seen[d] = true
				out.DefaultWorkflowEngineParameters = append(out.DefaultWorkflowEngineParameters, d)
			}
		}
	}
}

// withExecutorParams lists e's own parameters followed by the executor parameters every
// engine accepts (partition, account, qos, memory-mb, time-limit), which an engine's own
// parameter of the same name replaces.
func withExecutorParams(e wes.Engine) []wes.EngineParam {
	out := slices.Clone(e.Parameters())
	for _, p := range engines.ExecutorParams {
		if !slices.ContainsFunc(out, func(o wes.EngineParam) bool { return o.Name == p.Name }) {
			out = append(out, p)
		}
	}
	return out
}
