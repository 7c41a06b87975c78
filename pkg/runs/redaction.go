package runs

import (
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/redact"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Placeholders that stand for zone paths in what the API shows.
const (
	phWorkDir = "<workdir>"
	phData    = "<data>"
	// phDataset is a dataset the run does not read: its id is not the caller's to learn.
	phDataset = "<dataset>"
	// phDatasets is a directory that holds datasets (the catalogue's data_root, usually).
	phDatasets = "<datasets>"
)

// zoneRewriter rewrites the zone paths in what is shown of run r (engine logs, command
// lines, system messages), for every caller, administrators included: the placeholders
// lose nothing they cannot map back (the catalogue names each dataset's path, the
// configuration the data dir), and a log copied into a ticket or a browser then carries
// no zone path either. r's work dir becomes <workdir>, each dataset r reads
// <dataset:ID>, any other catalogue dataset <dataset>, the directory holding a dataset
// <datasets>, and the data dir <data>; each also under its symlink-resolved name. Where
// they nest, the longest wins. A nil r gives the rules for text about no run in
// particular (error messages).
func (s *Service) zoneRewriter(r *wes.Run) *redact.Rewriter {
	zs := s.zoneRules()
	var rules []redact.Rule
	if r != nil {
		for _, p := range []string{r.WorkDir, wes.LayoutFor(s.cfg.DataDir, r.ID).WorkDir()} {
			rules = append(rules, zs.underDataDir(p, phWorkDir)...)
		}
		// First, so a path two datasets share shows the run's id.
		for _, id := range r.Datasets {
			for _, p := range zs.paths[id] {
				rules = append(rules, redact.Rule{Path: p, Placeholder: "<dataset:" + id + ">"})
			}
		}
	}
	rules = append(rules, zs.all...)
	return redact.New(rules...)
}

// zoneRuleSet is what zoneRewriter needs of the catalogue and the data dir: each
// dataset's path and its symlink-resolved form by id, a <dataset> rule for each, and the
// data dir's rules.
type zoneRuleSet struct {
	cat     *catalog.Catalog
	dataDir string
	realDir string // the data dir resolved through symlinks
	paths   map[string][]string
	all     []redact.Rule
}

// underDataDir returns the rules for p, a directory under the data dir, and its
// resolved form (the data dir's, resolved once, plus the rest: Enclave makes no symlinks
// below it), or, elsewhere, resolved on its own.
func (zs *zoneRuleSet) underDataDir(p, placeholder string) []redact.Rule {
	if p == "" {
		return nil
	}
	rules := []redact.Rule{{Path: p, Placeholder: placeholder}}
	if rest, ok := strings.CutPrefix(p, zs.dataDir+string(filepath.Separator)); ok {
		return append(rules, redact.Rule{Path: filepath.Join(zs.realDir, rest), Placeholder: placeholder})
	}
	return redact.WithResolved(rules)
}

// zoneRuleCache keeps the rule set last built: a catalogue never changes (a reload
// brings a new one), so its paths are resolved once, not on every request.
var zoneRuleCache atomic.Pointer[zoneRuleSet]

func (s *Service) zoneRules() *zoneRuleSet {
	cat := s.currentCatalog()
	if c := zoneRuleCache.Load(); c != nil && c.cat == cat && c.dataDir == s.cfg.DataDir {
		return c
	}
	zs := &zoneRuleSet{cat: cat, dataDir: s.cfg.DataDir, realDir: s.cfg.DataDir, paths: map[string][]string{}}
	if real, err := filepath.EvalSymlinks(s.cfg.DataDir); err == nil {
		zs.realDir = real
	}
	var byID map[string]string
	if cat != nil {
		byID = cat.DatasetPaths()
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var parents []redact.Rule
	for _, id := range ids {
		for _, r := range redact.WithResolved([]redact.Rule{{Path: byID[id], Placeholder: phDataset}}) {
			zs.paths[id] = append(zs.paths[id], r.Path)
			zs.all = append(zs.all, r)
			parents = append(parents, redact.Rule{Path: filepath.Dir(r.Path), Placeholder: phDatasets})
		}
	}
	zs.all = append(zs.all, parents...) // after the datasets: a path that is both stays a dataset
	zs.all = append(zs.all, redact.Rule{Path: zs.dataDir, Placeholder: phData}, redact.Rule{Path: zs.realDir, Placeholder: phData})
	zoneRuleCache.Store(zs)
	return zs
}

// lostDatasets returns the datasets r reads that are no longer in the catalogue: their
// paths are unknown, so they cannot be rewritten.
func (s *Service) lostDatasets(r *wes.Run) []string {
	if len(r.Datasets) == 0 {
		return nil
	}
	paths := s.zoneRules().paths
	var lost []string
	for _, id := range r.Datasets {
		if _, ok := paths[id]; !ok {
			lost = append(lost, id)
		}
	}
	return lost
}

// HideZonePaths rewrites every zone path in a message meant for a client (the data dir,
// the catalogue's datasets and their parents) into its placeholder: a safety net for the
// faces' error messages.
func (s *Service) HideZonePaths(msg string) string { return s.zoneRewriter(nil).String(msg) }
