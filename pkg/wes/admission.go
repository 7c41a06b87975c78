package wes

import "context"

// Admission hands out each executor's run slots, so that no more than a configured number
// of a backend's runs hold a job at once. A run asks for a slot in its start step; one
// that gets none stays QUEUED in a waiting line until a slot frees up. The line is fair
// across owners: owners take turns, one run each, and each owner's runs go in their
// submission order, so one user's thousand runs do not starve another's one.
//
// The slots and the line are shared by every worker (they live in the run store's Redis),
// and every call is atomic and idempotent per run id. A slot is held from the grant until
// the run's Release, which a terminal run's outbox carries (runner/effects.go).
type Admission interface {
	// Acquire asks for a slot for t.RunID on t.Executor, of which at most limit may be
	// held. A run that holds one already is granted again; one that waits keeps its place.
	// Besides t's answer it returns the other runs this call let in (their start steps
	// must be enqueued).
	Acquire(ctx context.Context, t Ticket, limit int) (granted bool, admitted []string, err error)
	// Release frees the slots of ids on executor and takes them out of its waiting line,
	// then lets waiting runs in up to limit, returning them.
	Release(ctx context.Context, executor string, limit int, ids ...string) (admitted []string, err error)
	// Holders returns the runs that hold a slot on executor.
	Holders(ctx context.Context, executor string) ([]string, error)
	// Waiting reports, for each of ids, whether it waits in executor's line.
	Waiting(ctx context.Context, executor string, ids []string) ([]bool, error)
	// Occupancy counts the slots held and the runs waiting on executor.
	Occupancy(ctx context.Context, executor string) (running, waiting int64, err error)
}

// Ticket is a run's request for a slot.
type Ticket struct {
	Executor string
	Owner    string
	RunID    string
	// Order places the run among its owner's waiting runs, smaller first: the
	// submission time in nanoseconds.
	Order int64
}
