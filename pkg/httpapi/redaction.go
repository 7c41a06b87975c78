package httpapi

import (
	"slices"

	"github.com/spe4hd/enclave/pkg/redact"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Placeholders that stand for zone paths in what the API shows.
const (
	phWorkDir = "<workdir>"
	phData    = "<data>"
	// phDataset is a dataset the run does not read: its id is not the caller's to learn.
	phDataset = "<dataset>"
)

// zoneRewriter rewrites the zone paths in what is shown of run r (engine logs, command
// lines, system messages), for every caller, administrators included: the placeholders
// lose nothing they cannot map back (the catalogue names each dataset's path, the
// configuration the data dir), and a log copied into a ticket or a browser then carries
// no zone path either. r's work dir becomes <workdir>, each dataset r reads
// <dataset:ID>, any other catalogue dataset <dataset>, and the data dir <data>; each also
// under its symlink-resolved name. Where they nest, the longest wins.
func (s *server) zoneRewriter(r *wes.Run) *redact.Rewriter {
	var rules []redact.Rule
	if r != nil && r.WorkDir != "" {
		rules = append(rules, redact.Rule{Path: r.WorkDir, Placeholder: phWorkDir})
	}
	if r != nil {
		rules = append(rules, redact.Rule{Path: wes.LayoutFor(s.cfg.DataDir, r.ID).WorkDir(), Placeholder: phWorkDir})
	}
	paths := s.datasetPaths()
	if r != nil {
		for _, id := range r.Datasets { // first, so a path two datasets share shows the run's id
			if p, ok := paths[id]; ok {
				rules = append(rules, redact.Rule{Path: p, Placeholder: "<dataset:" + id + ">"})
			}
		}
	}
	ids := make([]string, 0, len(paths))
	for id := range paths {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		rules = append(rules, redact.Rule{Path: paths[id], Placeholder: phDataset})
	}
	rules = append(rules, redact.Rule{Path: s.cfg.DataDir, Placeholder: phData})
	return redact.New(redact.WithResolved(rules)...)
}

// datasetPaths returns the catalogue's dataset paths by id (none without a catalogue).
func (s *server) datasetPaths() map[string]string {
	cat := s.currentCatalog()
	if cat == nil {
		return nil
	}
	return cat.DatasetPaths()
}

// lostDatasets returns the datasets r reads that are no longer in the catalogue: their
// paths are unknown, so they cannot be rewritten.
func (s *server) lostDatasets(r *wes.Run) []string {
	if len(r.Datasets) == 0 {
		return nil
	}
	paths := s.datasetPaths()
	var lost []string
	for _, id := range r.Datasets {
		if _, ok := paths[id]; !ok {
			lost = append(lost, id)
		}
	}
	return lost
}
