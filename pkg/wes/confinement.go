package wes

import "context"

// Confinement says how an executor keeps a job to its own run: what it may read and
// write, whether it reaches the network, and whether its processes outlive it.
type Confinement struct {
	// Policy is the executor's setting ("required", "best-effort", "off"), or "" for an
	// executor whose confinement is not configurable.
	Policy string `json:"policy,omitempty"`
	// Mechanisms lists what each job gets, in words (no zone paths).
	Mechanisms []string `json:"mechanisms,omitempty"`
	// Problem says why jobs cannot be confined as Policy requires (they are refused), or "".
	Problem string `json:"problem,omitempty"`
}

// ConfinementDescriber is an optional Executor capability: what a job started now gets.
type ConfinementDescriber interface {
	Confinement() Confinement
}

// JobConfinementReporter is an optional Executor capability: one line for the run's
// system log, written when the run becomes RUNNING, saying how its job is confined
// (e.g. "job confined: landlock (ABI 7), mount/pid/net/ipc/uts namespaces, uid 61234,
// process tree killed at end"). It never names a path.
type JobConfinementReporter interface {
	JobConfinement(ctx context.Context, h Handle) (string, error)
}
