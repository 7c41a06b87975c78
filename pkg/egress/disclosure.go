package egress

import (
	"io"

	"github.com/spe4hd/enclave/pkg/egress/checks"
	"github.com/spe4hd/enclave/pkg/wes"
)

// disclose runs the workflow's disclosure checks (pol.Checks) on the accepted files they
// apply to and returns each checked file's results by path. datasets are the zone paths
// of the run's input datasets, indexed only when the overlap check is declared and a file
// is checked. A file that cannot be read as the very file Select saw fails a "read"
// result, so it is never released unchecked.
func (g *Releaser) disclose(workDir string, pol wes.OutputPolicy, accepted []Candidate, datasets []string) map[string][]wes.CheckResult {
	if pol.Checks == nil {
		return nil
	}
	probe, err := checks.Compile(*pol.Checks, nil)
	if err != nil {
		// The catalogue validated the spec; a spec that still fails to compile fails
		// every file it would have checked.
		g.log().Error("a workflow's disclosure checks do not compile", "err", err)
	}
	var todo []Candidate
	for _, c := range accepted {
		if probe == nil || probe.Applies(c.Path) {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	out := map[string][]wes.CheckResult{}
	if probe == nil {
		for _, c := range todo {
			out[c.Path] = []wes.CheckResult{{Check: "compile", Passed: false, Detail: "the workflow's checks are invalid"}}
		}
		return out
	}
	var ix *checks.RowIndex
	if pol.Checks.DatasetOverlap {
		if ix, err = checks.BuildIndex(datasets, checks.IndexLimits{}); err != nil {
			g.log().Error("the input datasets could not be indexed for the overlap check", "err", err)
			ix = nil // the overlap check then fails
		}
	}
	c, _ := checks.Compile(*pol.Checks, ix)
	for _, cand := range todo {
		var res []wes.CheckResult
		err := readCandidate(workDir, cand, func(r io.Reader) error {
			res = c.Check(cand.Path, r)
			return nil
		})
		if err != nil {
			res = []wes.CheckResult{{Check: "read", Passed: false, Detail: "the file changed or became unreadable after it was selected"}}
		}
		out[cand.Path] = res
	}
	return out
}
