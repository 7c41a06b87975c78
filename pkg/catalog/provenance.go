package catalog

import (
	"regexp"

	"github.com/spe4hd/enclave/pkg/wes"
)

// datasetChecksum is the form of a dataset's declared checksum. Only sha256 for now: a
// prefix leaves room for others without changing what is already written.
var datasetChecksum = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// checkDatasetChecksum refuses a declared checksum that is not "sha256:<64 hex digits>".
func (l *loader) checkDatasetChecksum(where, sum string) {
	if sum != "" && !datasetChecksum.MatchString(sum) {
		l.addf("%s.checksum: must be sha256: followed by 64 lower-case hex digits", where)
	}
}

// Provenance is what the catalogue says a run of entry id over datasets ran with: the
// entry's id, version, name, type, main file and every file with its pinned sha256, and
// each dataset with its declared version and checksum (a dataset no longer in the
// catalogue is listed by id alone). ok is false when the entry is not in the catalogue.
// Nothing in it is a zone path.
func (c *Catalog) Provenance(id string, datasets []string) (p wes.Provenance, ok bool) {
	e, ok := c.workflows[id]
	if !ok {
		return wes.Provenance{}, false
	}
	p = wes.Provenance{Workflow: e.ID, WorkflowVersion: e.Version, WorkflowName: e.Name,
		WorkflowType: e.WorkflowType, WorkflowTypeVersion: e.WorkflowTypeVersion, Main: e.Main}
	for _, f := range e.Files {
		p.Files = append(p.Files, wes.ProvenanceFile{Path: f.Path, SHA256: f.SHA256})
	}
	for _, ds := range datasets {
		pd := wes.ProvenanceDataset{ID: ds}
		if d, ok := c.datasets[ds]; ok {
			pd.Version, pd.Checksum = d.Version, d.Checksum
		}
		p.Datasets = append(p.Datasets, pd)
	}
	return p, true
}
