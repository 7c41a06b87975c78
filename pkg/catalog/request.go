package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// CheckEngineParams checks workflow_engine_parameters against what entry id allows: only
// the names in its allowed_engine_params, and for a fixed one only its value. EINVALID
// naming the parameters. The values' types are checked by engines.ValidateParams, as for
// any run.
func (c *Catalog) CheckEngineParams(id string, params map[string]string) error {
	e, ok := c.workflows[id]
	if !ok {
		return wes.Errorf(wes.EINVALID, "workflow %q is not in the catalogue", id)
	}
	return e.CheckEngineParams(params)
}

// CheckEngineParams is Catalog.CheckEngineParams for this entry.
func (e *Entry) CheckEngineParams(params map[string]string) error {
	var unknown, fixed []string
	for _, name := range slices.Sorted(maps.Keys(params)) {
		i := slices.IndexFunc(e.AllowedEngineParams, func(a AllowedParam) bool { return a.Name == name })
		switch {
		case i < 0:
			unknown = append(unknown, strconv.Quote(clip(name)))
		case e.AllowedEngineParams[i].Value != "" && params[name] != e.AllowedEngineParams[i].Value:
			fixed = append(fixed, fmt.Sprintf("%s is fixed to %q", name, e.AllowedEngineParams[i].Value))
		}
	}
	if len(unknown) > 0 {
		allowed := "none"
		if len(e.AllowedEngineParams) > 0 {
			names := make([]string, len(e.AllowedEngineParams))
			for i, a := range e.AllowedEngineParams {
				names[i] = a.Name
			}
			allowed = strings.Join(names, ", ")
		}
		return wes.Errorf(wes.EINVALID, "workflow_engine_parameters: %s not allowed for workflow %s; allowed: %s",
			strings.Join(unknown, ", "), e.ID, allowed)
	}
	if len(fixed) > 0 {
		return wes.Errorf(wes.EINVALID, "workflow_engine_parameters: %s for workflow %s", strings.Join(fixed, "; "), e.ID)
	}
	return nil
}

// EngineParameters returns the engine parameters a run of e uses: the client's (checked
// by CheckEngineParams) with the entry's fixed values set.
func (e *Entry) EngineParameters(client map[string]string) map[string]string {
	out := maps.Clone(client)
	if out == nil {
		out = map[string]string{}
	}
	for _, a := range e.AllowedEngineParams {
		if a.Value != "" {
			out[a.Name] = a.Value
		}
	}
	return out
}

// CheckRequest checks the rest of a sealed-zone run request against e: workflow_type,
// workflow_type_version, workflow_engine and workflow_engine_version may be left empty or
// must say what the entry says; no attachments; engine parameters as CheckEngineParams.
// EINVALID naming the field.
func (e *Entry) CheckRequest(req wes.RunRequest) error {
	for _, f := range []struct{ field, got, want string }{
		{"workflow_type", req.WorkflowType, e.WorkflowType},
		{"workflow_type_version", req.WorkflowTypeVersion, e.WorkflowTypeVersion},
		{"workflow_engine", req.WorkflowEngine, e.Engine},
		{"workflow_engine_version", req.WorkflowEngineVersion, e.EngineVersion},
	} {
		if f.got != "" && f.want != "" && f.got != f.want {
			return wes.Errorf(wes.EINVALID, "%s: workflow %s uses %q, not %s; leave it out or send %q",
				f.field, e.ID, f.want, strconv.Quote(clip(f.got)), f.want)
		}
	}
	if len(req.Attachments) > 0 {
		return wes.Errorf(wes.EINVALID, "workflow_attachment: catalogue workflows take no attachments; inputs are datasets named by id in workflow_params")
	}
	return e.CheckEngineParams(req.WorkflowEngineParameters)
}

// Summary is what a client may see of e.
func (e *Entry) Summary() EntrySummary {
	return EntrySummary{ID: e.ID, Name: e.Name, Version: e.Version, Description: e.Description,
		WorkflowType: e.WorkflowType, WorkflowTypeVersion: e.WorkflowTypeVersion,
		ParamsSchema: slices.Clone(e.ParamsSchema)}
}
