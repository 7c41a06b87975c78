package egress

import (
	"strconv"

	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/wes"
)

// observe counts the file decision an audit event records (Releaser.Metrics): every
// file's fate is audited exactly once, so the events are the one place to count them.
func (g *Releaser) observe(e wes.AuditEvent) {
	if g.Metrics == nil {
		return
	}
	var outcome string
	switch {
	case e.Action == ActionRelease && e.Outcome == "ok":
		outcome = metrics.EgressReleased
	case e.Action == ActionRefuse:
		outcome = metrics.EgressRefused
	case e.Action == ActionHold && e.Outcome == "ok":
		outcome = metrics.EgressPending
	default:
		return
	}
	size, _ := strconv.ParseInt(e.Detail["size"], 10, 64)
	g.Metrics.EgressFile(outcome, size)
}

// observeChecks counts the disclosure checks each file failed.
func (g *Releaser) observeChecks(results map[string][]wes.CheckResult) {
	if g.Metrics == nil {
		return
	}
	for _, rs := range results {
		for _, r := range rs {
			if !r.Passed {
				g.Metrics.CheckFailed(r.Check)
			}
		}
	}
}
