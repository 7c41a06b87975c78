package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// maxParamsBytes bounds workflow_params, as the engines do; the API limits bodies earlier.
const maxParamsBytes = 16 << 20

// Authorize is the sealed zone's check of a run request, for POST /runs: p may run the
// workflow, params fit its schema, no param is a raw path or URL, and every dataset the
// params name is one p may use. Errors:
//   - EUNAUTHORIZED when p is nil;
//   - EINVALID for a malformed workflow id and for params that do not fit (every problem,
//     each naming its field: "workflow_params.sample: must be a string matching ...");
//   - EFORBIDDEN for a workflow or dataset p may not use. Unknown and forbidden ids get
//     the same message, so a refusal reveals no hidden entry; ErrUnknown or ErrNotAllowed
//     is in the error chain for the audit trail.
//
// The workflow is checked before the params, so nobody learns a hidden entry's schema.
func (c *Catalog) Authorize(p *wes.Principal, workflowID string, params json.RawMessage) (*Resolved, error) {
	if p == nil {
		return nil, wes.Errorf(wes.EUNAUTHORIZED, "authentication is required to run a catalogue workflow")
	}
	if err := checkWorkflowID(workflowID); err != nil {
		return nil, err
	}
	e, ok := c.workflows[workflowID]
	if !ok || !c.mayRun(p, e) {
		cause := ErrNotAllowed
		if !ok {
			cause = ErrUnknown
		}
		return nil, &wes.Error{Code: wes.EFORBIDDEN, Err: cause, Message: fmt.Sprintf(
			"you may not run workflow %q: it is not one of the catalogue workflows available to you", workflowID)}
	}
	obj, refs, err := e.checkParams(params)
	if err != nil {
		return nil, err
	}
	var denied []string
	var cause error
	for _, r := range refs {
		d, ok := c.datasets[r.id]
		switch {
		case !ok:
			cause = ErrUnknown
		case !c.mayUse(p, d):
			if cause == nil {
				cause = ErrNotAllowed
			}
		default:
			continue
		}
		denied = append(denied, fmt.Sprintf("%s: you may not use dataset %q", engines.FieldPath(r.loc), r.id))
	}
	if len(denied) > 0 {
		return nil, &wes.Error{Code: wes.EFORBIDDEN, Err: cause,
			Message: strings.Join(denied, "; ") + " (it does not exist or is not shared with you)"}
	}
	return c.rewrite(e, obj, refs)
}

// ResolveParams re-resolves the dataset references of params accepted earlier by
// Authorize, for the runner: it returns the params the engine reads (dataset ids replaced
// by their paths inside the zone) and the datasets used (id → path). It checks the params
// again but not the principal. ECONFLICT when the workflow or a dataset left the catalogue
// since the run was accepted (after a reload); EINVALID when the params no longer fit.
func (c *Catalog) ResolveParams(workflowID string, params json.RawMessage) (json.RawMessage, map[string]string, error) {
	e, ok := c.workflows[workflowID]
	if !ok {
		return nil, nil, wes.Errorf(wes.ECONFLICT, "workflow %q is no longer in the catalogue", workflowID)
	}
	obj, refs, err := e.checkParams(params)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range refs {
		if _, ok := c.datasets[r.id]; !ok {
			return nil, nil, wes.Errorf(wes.ECONFLICT, "dataset %q is no longer in the catalogue", r.id)
		}
	}
	res, err := c.rewrite(e, obj, refs)
	if err != nil {
		return nil, nil, err
	}
	return res.Params, res.Datasets, nil
}

func checkWorkflowID(id string) error {
	if id == "" {
		return wes.Errorf(wes.EINVALID, "workflow_url: required; name a catalogue workflow by its id")
	}
	if !IDPattern.MatchString(id) {
		return wes.Errorf(wes.EINVALID, "workflow_url: %s is not a catalogue workflow id (ids are 1 to 64 of a-z 0-9 . _ -); "+
			"in the sealed zone a run names one of the catalogue's workflows", strconv.Quote(clip(id)))
	}
	return nil
}

// datasetRef is one dataset id in workflow_params, at loc.
type datasetRef struct {
	loc []string
	id  string
}

// checkParams parses params, validates them against the entry's schema, refuses raw
// paths and URLs and collects the dataset references. Every problem is in one EINVALID.
func (e *Entry) checkParams(params json.RawMessage) (map[string]any, []datasetRef, error) {
	if len(bytes.TrimSpace(params)) == 0 {
		params = json.RawMessage("{}")
	}
	if len(params) > maxParamsBytes {
		return nil, nil, wes.Errorf(wes.EINVALID, "workflow_params is larger than %d MiB", maxParamsBytes>>20)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(params)) // numbers stay json.Number
	obj, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil, nil, wes.Errorf(wes.EINVALID, "workflow_params must be a JSON object")
	}
	var problems []string
	if err := e.schema.Validate(obj); err != nil {
		problems = validationProblems(err)
	}
	var refs []datasetRef
	for _, k := range sortedKeys(obj) {
		loc := []string{k}
		isList, isDataset := e.dsParams[k]
		switch {
		case !isDataset:
			problems = append(problems, e.rawPaths(obj[k], loc)...)
		case isList:
			list, _ := obj[k].([]any) // the schema said array; if not, it reported that
			for i, x := range list {
				refs, problems = addRef(refs, problems, append(loc[:1:1], strconv.Itoa(i)), x)
			}
		default:
			refs, problems = addRef(refs, problems, loc, obj[k])
		}
	}
	if len(problems) > 0 {
		return nil, nil, wes.Errorf(wes.EINVALID, "%s", strings.Join(problems, "; "))
	}
	return obj, refs, nil
}

func addRef(refs []datasetRef, problems []string, loc []string, v any) ([]datasetRef, []string) {
	s, ok := v.(string)
	if !ok {
		return refs, problems // a type error the schema reported
	}
	if !IDPattern.MatchString(s) {
		return refs, append(problems, engines.FieldPath(loc)+": must be a dataset id (1 to 64 of a-z 0-9 . _ -), never a path or URL")
	}
	return append(refs, datasetRef{loc: loc, id: s}), problems
}

// rawPaths reports every string in v (at loc) that looks like a file path or URL, unless
// the schema pins that value with a pattern, enum or const (then the data controller
// chose what may pass).
func (e *Entry) rawPaths(v any, loc []string) []string {
	switch x := v.(type) {
	case string:
		if !looksLikePath(x) {
			return nil
		}
		if s := subschema(e.doc, loc); s != nil {
			_, pattern := s["pattern"]
			_, enum := s["enum"]
			_, cnst := s["const"]
			if (pattern && s["type"] == "string") || enum || cnst {
				return nil
			}
		}
		return []string{engines.FieldPath(loc) + ": looks like a file path or URL; inputs refer to datasets by id, never by path"}
	case map[string]any:
		var out []string
		for _, k := range sortedKeys(x) {
			out = append(out, e.rawPaths(x[k], append(loc[:len(loc):len(loc)], k))...)
		}
		return out
	case []any:
		var out []string
		for i, el := range x {
			out = append(out, e.rawPaths(el, append(loc[:len(loc):len(loc)], strconv.Itoa(i)))...)
		}
		return out
	}
	return nil
}

var (
	urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://|^(?i:file):`)
	winDrive  = regexp.MustCompile(`^[A-Za-z]:[\\/]`)
)

// looksLikePath reports whether s could make a workflow read something outside its work
// dir: an absolute or home-relative path, a ".." segment, a URL, or a NUL byte.
func looksLikePath(s string) bool {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, `\`) || strings.HasPrefix(s, "~") ||
		strings.ContainsRune(s, 0) || urlScheme.MatchString(s) || winDrive.MatchString(s) {
		return true
	}
	for _, seg := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return true
		}
	}
	return false
}

// rewrite replaces each dataset reference in obj by what the engine reads: the dataset's
// path for Snakemake and Nextflow, a File or Directory object for CWL.
func (c *Catalog) rewrite(e *Entry, obj map[string]any, refs []datasetRef) (*Resolved, error) {
	res := &Resolved{Entry: e, Datasets: map[string]string{}}
	for _, r := range refs {
		d := c.datasets[r.id]
		var val any = d.path
		if e.WorkflowType == "CWL" {
			class := "File"
			if d.dir {
				class = "Directory"
			}
			val = map[string]any{"class": class, "path": d.path}
		}
		if len(r.loc) == 1 {
			obj[r.loc[0]] = val
		} else {
			i, _ := strconv.Atoi(r.loc[1])
			obj[r.loc[0]].([]any)[i] = val
		}
		if _, seen := res.Datasets[r.id]; !seen {
			res.DatasetIDs = append(res.DatasetIDs, r.id)
		}
		res.Datasets[r.id] = d.path
	}
	sort.Strings(res.DatasetIDs)
	b, err := marshalJSON(obj)
	if err != nil {
		return nil, wes.Internal(err, "cannot encode workflow_params")
	}
	res.Params = b
	return res, nil
}
