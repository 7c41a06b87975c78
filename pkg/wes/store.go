package wes

import (
	"context"
	"time"
)

// RunFilter selects runs for List. Every field set must match.
type RunFilter struct {
	Owner     string // "" = all owners
	PageSize  int    // > 0; the store does not apply defaults
	PageToken string // opaque token from a previous page; "" = first page
	State     State  // "" = any state
	Workflow  string // the catalogue workflow id; "" = any
	// ReviewPending keeps only runs with outputs waiting for a reviewer's decision.
	ReviewPending bool
	// Match, when set, is a further test of each run the others let through (tags).
	Match func(*Run) bool
}

// Filtered reports whether f selects by more than the owner.
func (f RunFilter) Filtered() bool {
	return f.State != "" || f.Workflow != "" || f.ReviewPending || f.Match != nil
}

// Matches reports whether r passes every test of f.
func (f RunFilter) Matches(r *Run) bool {
	return (f.Owner == "" || r.Owner == f.Owner) && (f.State == "" || r.State == f.State) &&
		(f.Workflow == "" || r.Workflow == f.Workflow) && (!f.ReviewPending || r.ReviewPending()) &&
		(f.Match == nil || f.Match(r))
}

// RunPage is one page of runs, newest first. A filtered list may return fewer runs than
// the page size, even none, with a NextPageToken: the store looks at a bounded number of
// runs per page, and the token goes on from the last one it looked at.
type RunPage struct {
	Runs          []*Run
	NextPageToken string // "" when there are no more runs
}

// RunHead is what a state read and its access check need of a run: whose it is and
// the state it is in.
type RunHead struct {
	ID    string
	Owner string
	State State
}

// LiveRuns is what the reconciler reads on each pass (RunStore.Live).
type LiveRuns struct {
	// Active are the runs in a non-terminal state, oldest first.
	Active []*Run
	// Pending are the runs whose outbox is not empty, in any state, oldest first. A run
	// in both lists may be the same *Run in each: neither is to be changed.
	Pending []*Run
}

// RunStore keeps runs. Every state change goes through Update, which applies
// ValidateTransition atomically; terminal states are sticky.
type RunStore interface {
	// Create stores a new run. ECONFLICT if the id exists.
	Create(ctx context.Context, r *Run) error
	// Get returns a run. ENOTFOUND if there is none.
	Get(ctx context.Context, id string) (*Run, error)
	// Head returns a run's RunHead, reading no more of the run than it needs: the read
	// that clients poll (a run's status) asks for nothing else. ENOTFOUND if there is none.
	Head(ctx context.Context, id string) (RunHead, error)
	// Update applies fn to the current run and stores the result atomically, retrying on
	// concurrent changes. A state change fn makes is checked with ValidateTransition; an
	// invalid one returns its ECONFLICT error and stores nothing. fn returning an error
	// aborts without storing. ENOTFOUND if there is no such run.
	Update(ctx context.Context, id string, fn func(*Run) error) (*Run, error)
	// List returns a page of runs, newest first. EINVALID for a bad page token.
	List(ctx context.Context, f RunFilter) (RunPage, error)
	// StateCounts counts runs per state; owner "" counts all runs.
	StateCounts(ctx context.Context, owner string) (map[State]int64, error)
	// Active returns the ids of all runs in a non-terminal state.
	Active(ctx context.Context) ([]string, error)
	// Pending returns the ids of all runs whose outbox (Run.Effects) is not empty, in any
	// state: the reconciler finds there the side effects a dead worker left undone.
	Pending(ctx context.Context) ([]string, error)
	// Live returns the runs of Active and of Pending, each record read once, in a number
	// of round trips that does not grow with the number of runs: the reconciler reads it
	// every second. A listed id whose record is missing is left out.
	Live(ctx context.Context) (LiveRuns, error)
}

// Lease is held by one holder at a time: the worker whose reconciler runs. The holder
// keeps it by calling Hold again before its time to live runs out; a holder that dies
// stops doing so, and the lease is free for another once it has run out.
type Lease interface {
	// Hold takes the lease for holder for ttl when it is free, or extends it to ttl from
	// now when holder holds it. It returns the holder afterwards: holder itself when it
	// holds the lease, another when someone else does (and then changes nothing).
	Hold(ctx context.Context, holder string, ttl time.Duration) (string, error)
	// Release frees the lease if holder holds it, and does nothing otherwise.
	Release(ctx context.Context, holder string) error
}

// Dispatcher hands run steps to the worker queue. Each method is idempotent per run id.
type Dispatcher interface {
	Start(ctx context.Context, runID string) error
	Cancel(ctx context.Context, runID string) error
	Finalize(ctx context.Context, runID string) error
}
