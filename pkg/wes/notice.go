package wes

import (
	"context"
	"time"
)

// Notice kinds: the events Enclave tells webhooks and mail recipients about.
const (
	// NoticeRunTerminal: the run reached COMPLETE, EXECUTOR_ERROR, SYSTEM_ERROR or CANCELED.
	NoticeRunTerminal = "run.terminal"
	// NoticePendingReview: the run ended with outputs held for a data controller's review.
	NoticePendingReview = "outputs.pending_review"
	// NoticeReviewDecided: a reviewer decided on held outputs.
	NoticeReviewDecided = "review.decided"
	// NoticeOutputReleased: outputs of the run left the zone (at its end, or on approval).
	NoticeOutputReleased = "output.released"
)

// NoticeKinds lists every notice kind, in the order above.
var NoticeKinds = []string{NoticeRunTerminal, NoticePendingReview, NoticeReviewDecided, NoticeOutputReleased}

// Notice is one event about a run that recipients outside the zone are told of. It
// carries what may leave the zone and nothing else: ids, the state, the catalogue
// workflow id and counts of outputs by status — never a file name, size, hash, zone path,
// parameter or log line. It is built once, stored in the run's outbox (Effect.Notice),
// and sent as it is, so every retry carries the same ID and Time.
type Notice struct {
	// ID is unique per event and stable across retries: "<run id>/<effect id>".
	ID   string    `json:"id"`
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`

	RunID    string `json:"run_id"`
	State    State  `json:"state"`
	Workflow string `json:"workflow,omitempty"`
	Owner    string `json:"owner"`
	// OwnerEmail is where the owner is mailed (Run.OwnerEmail); it never goes into a
	// webhook's payload.
	OwnerEmail string `json:"owner_email,omitempty"`
	// Outputs counts the run's outputs by status (OutputPending, OutputReleased,
	// OutputRejected) when the notice was made.
	Outputs map[string]int `json:"outputs,omitempty"`
	// Decision is what a reviewer decided (NoticeReviewDecided): "approve" or "reject".
	Decision string `json:"decision,omitempty"`
}

// NewNotice returns the notice of kind about r as it is now, with the given id and time.
func NewNotice(kind, id string, r *Run, now time.Time) *Notice {
	n := &Notice{ID: id, Kind: kind, Time: now.UTC(), RunID: r.ID, State: r.State, Workflow: r.Workflow,
		Owner: r.Owner, OwnerEmail: r.OwnerEmail}
	for _, o := range r.Released {
		if n.Outputs == nil {
			n.Outputs = map[string]int{}
		}
		n.Outputs[o.Status]++
	}
	return n
}

// Notifier sends notices: it hands each to its deliveries (webhooks, mail), which retry
// on their own, and returns once they are safely queued. Sending the same notice (the
// same ID) again must not deliver it twice while the first is still known. EUNAVAILABLE
// when the queue cannot be reached.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}
