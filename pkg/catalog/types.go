package catalog

import (
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Causes carried in the chain of the EFORBIDDEN errors Authorize returns, for the audit
// trail: the client sees one message for both, so a refusal does not reveal hidden entries.
var (
	ErrUnknown    = errors.New("no such catalogue entry")
	ErrNotAllowed = errors.New("the usage policy does not allow it")
)

// Catalog is a loaded, validated catalogue. It is immutable and safe for concurrent use.
type Catalog struct {
	workflows map[string]*Entry
	datasets  map[string]*Dataset
	rules     []rule
	fp        Fingerprint // what the file said, to tell what a reload changed
}

// Entry is one validated workflow. Callers must treat it as read-only.
type Entry struct {
	ID                  string
	Name                string
	Description         string
	Version             string
	WorkflowType        string // WES workflow_type: SMK, CWL, NFL
	WorkflowTypeVersion string
	Engine              string // engine registry name: snakemake, cwltool, nextflow
	EngineVersion       string // "" = the newest installed
	// Main is the workflow entry point, relative to the run's work dir (the value for
	// wes.PrepareInput.WorkflowPath once StageFiles has copied the files).
	Main  string
	Files []File
	// ParamsSchema is the JSON Schema of workflow_params, as JSON.
	ParamsSchema json.RawMessage
	// DatasetParams names the top-level params that are dataset references, sorted.
	DatasetParams []string
	// AllowedEngineParams are the workflow_engine_parameters clients may send.
	AllowedEngineParams []AllowedParam
	Outputs             wes.OutputPolicy
	Logs                string // wes.LogsNone, LogsAdmin or LogsOwner
	Egress              string // wes.EgressAuto or EgressReview
	Resources           wes.Resources
	Groups              []string

	dir      string             // inside the zone: never shown to clients
	schema   *jsonschema.Schema // compiled ParamsSchema
	doc      any                // ParamsSchema decoded, for raw-path exemptions
	dsParams map[string]bool    // dataset param name → is a list of ids
}

// File is a workflow file pinned by its sha256.
type File struct {
	Path   string // relative to the entry's dir and to the run's work dir, slash-separated
	SHA256 string // lower-case hex
}

// AllowedParam is an engine parameter an entry lets clients send.
type AllowedParam struct {
	Name string `json:"name" yaml:"name"`
	// Value, when not "", is the only value allowed; the runner applies it even when
	// the client does not send the parameter (Entry.EngineParameters).
	Value string `json:"value,omitempty" yaml:"value"`
}

// Dataset is data inside the zone that workflows read. Its path is never shown to clients.
type Dataset struct {
	ID          string
	Name        string
	Description string
	Groups      []string
	// Stewards are the groups whose data controllers review the outputs of runs that read
	// this dataset; none: any data controller does. Administrators review every run.
	Stewards []string
	// Version and Checksum ("sha256:<hex>") are what the catalogue declares of the data,
	// recorded in each run's provenance; Enclave never reads the data to compute them.
	Version, Checksum string

	path string // absolute, inside the zone
	dir  bool   // a directory rather than a file
}

// rule is one allow rule of the usage policy.
type rule struct {
	groups, roles       []string
	workflows, datasets []string
}

// EntrySummary is what a client may see of an entry it may run.
type EntrySummary struct {
	ID                  string          `json:"id"`
	Name                string          `json:"name"`
	Version             string          `json:"version"`
	Description         string          `json:"description,omitempty"`
	WorkflowType        string          `json:"workflow_type"`
	WorkflowTypeVersion string          `json:"workflow_type_version"`
	ParamsSchema        json.RawMessage `json:"params_schema"`
}

// DatasetSummary is what a client may see of a dataset it may use: never its path.
type DatasetSummary struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Resolved is an authorised run request. Entry and DatasetIDs may be shown and audited;
// Datasets and Params carry paths inside the zone and are for the runner only.
type Resolved struct {
	Entry      *Entry
	DatasetIDs []string          // the dataset ids the params refer to, sorted
	Datasets   map[string]string // dataset id → path inside the zone (runner only)
	Params     json.RawMessage   // workflow_params with dataset ids replaced by their paths (runner only)
}

// LogValue keeps zone paths out of logs when a Resolved is logged whole.
func (r *Resolved) LogValue() slog.Value {
	if r == nil || r.Entry == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("workflow", r.Entry.ID),
		slog.String("datasets", strings.Join(r.DatasetIDs, ",")))
}

// Entry returns the workflow with id, whoever asks; for the runner and admins.
func (c *Catalog) Entry(id string) (*Entry, bool) {
	e, ok := c.workflows[id]
	return e, ok
}

// Len returns the number of workflows and datasets.
func (c *Catalog) Len() (workflows, datasets int) { return len(c.workflows), len(c.datasets) }

// Visible lists the entries p may run, sorted by id, for the catalogue endpoint.
func (c *Catalog) Visible(p *wes.Principal) []EntrySummary {
	out := []EntrySummary{}
	for _, id := range sortedKeys(c.workflows) {
		e := c.workflows[id]
		if !c.mayRun(p, e) {
			continue
		}
		out = append(out, e.Summary())
	}
	return out
}

// VisibleDatasets lists the datasets p may use, sorted by id (ids, names and descriptions only).
func (c *Catalog) VisibleDatasets(p *wes.Principal) []DatasetSummary {
	out := []DatasetSummary{}
	for _, id := range sortedKeys(c.datasets) {
		d := c.datasets[id]
		if c.mayUse(p, d) {
			out = append(out, DatasetSummary{ID: d.ID, Name: d.Name, Description: d.Description})
		}
	}
	return out
}

// WorkflowTypes returns the workflow types of all entries with their type versions, sorted,
// for service-info's workflow_type_versions.
func (c *Catalog) WorkflowTypes() map[string][]string {
	out := map[string][]string{}
	for _, e := range c.workflows {
		if !slices.Contains(out[e.WorkflowType], e.WorkflowTypeVersion) {
			out[e.WorkflowType] = append(out[e.WorkflowType], e.WorkflowTypeVersion)
		}
	}
	for _, vs := range out {
		sort.Strings(vs)
	}
	return out
}

// mayRun reports whether p may run e: one of p's groups is in e.Groups, or a policy rule
// that matches p lists e. Nil principals may run nothing.
func (c *Catalog) mayRun(p *wes.Principal, e *Entry) bool {
	if p == nil {
		return false
	}
	if intersects(p.Groups, e.Groups) {
		return true
	}
	for _, r := range c.rules {
		if r.matches(p) && slices.Contains(r.workflows, e.ID) {
			return true
		}
	}
	return false
}

// mayUse is mayRun for datasets.
func (c *Catalog) mayUse(p *wes.Principal, d *Dataset) bool {
	if p == nil {
		return false
	}
	if intersects(p.Groups, d.Groups) {
		return true
	}
	for _, r := range c.rules {
		if r.matches(p) && slices.Contains(r.datasets, d.ID) {
			return true
		}
	}
	return false
}

func (r rule) matches(p *wes.Principal) bool {
	return intersects(p.Groups, r.groups) || intersects(p.Roles, r.roles)
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if x != "" && slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Stewards returns the steward groups of dataset id, and whether the catalogue has it.
func (c *Catalog) Stewards(id string) ([]string, bool) {
	d, ok := c.datasets[id]
	if !ok {
		return nil, false
	}
	return slices.Clone(d.Stewards), true
}
