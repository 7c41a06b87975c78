package wes

import (
	"encoding/json"
	"time"
)

// RunRequest is what a client asked for, as in the WES RunRequest, plus the names of
// the attachment files the server kept (relative paths, already checked for safety).
type RunRequest struct {
	WorkflowParams           json.RawMessage   `json:"workflow_params,omitempty"` // a JSON object
	WorkflowType             string            `json:"workflow_type"`
	WorkflowTypeVersion      string            `json:"workflow_type_version"`
	Tags                     map[string]string `json:"tags,omitempty"`
	WorkflowEngineParameters map[string]string `json:"workflow_engine_parameters,omitempty"`
	WorkflowEngine           string            `json:"workflow_engine,omitempty"`
	WorkflowEngineVersion    string            `json:"workflow_engine_version,omitempty"`
	WorkflowURL              string            `json:"workflow_url"`
	Attachments              []string          `json:"attachments,omitempty"` // relative paths under the run's attachment dir
}

// RunLog is what Enclave records about the workflow engine's own process.
type RunLog struct {
	Name       string    `json:"name,omitempty"`
	Cmd        []string  `json:"cmd,omitempty"`
	StartTime  time.Time `json:"start_time,omitzero"`
	EndTime    time.Time `json:"end_time,omitzero"`
	ExitCode   *int      `json:"exit_code,omitempty"`
	SystemLogs []string  `json:"system_logs,omitempty"` // Enclave's own messages, safe to show the owner
}

// Run is one workflow run as stored.
type Run struct {
	ID        string         `json:"id"`
	Owner     string         `json:"owner"` // Principal.Subject of the submitter
	State     State          `json:"state"`
	Request   RunRequest     `json:"request"`
	Engine    string         `json:"engine"`         // resolved engine name, e.g. "snakemake"
	EngineVer string         `json:"engine_version"` // resolved engine version
	Executor  string         `json:"executor"`       // executor name chosen at submission
	Handle    *Handle        `json:"handle,omitempty"`
	WorkDir   string         `json:"work_dir,omitempty"` // inside the zone: never shown to clients
	Log       RunLog         `json:"log"`
	Outputs   map[string]any `json:"outputs,omitempty"`

	// Sealed-zone runs: the catalogue entry, the datasets it reads (ids only), and the
	// outputs released (or held for review) by egress.
	Workflow string   `json:"workflow,omitempty"`
	Datasets []string `json:"datasets,omitempty"`
	Released []Output `json:"released,omitempty"`
	// Provenance is what the run ran with (provenance.go); nil for runs stored before
	// Enclave recorded it.
	Provenance *Provenance `json:"provenance,omitempty"`

	// OwnerEmail is the submitter's e-mail address (Principal.Email) when their token
	// carried one: where their notices are mailed. Never shown to clients.
	OwnerEmail string `json:"owner_email,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	StartTime time.Time `json:"start_time,omitzero"` // when the job started running
	EndTime   time.Time `json:"end_time,omitzero"`   // when the run reached a terminal state

	// CancelRequested is the run's cancel intent: set once, by RequestCancel, and never
	// cleared. It outlives the state CANCELING (a cancelled run keeps it), so every step
	// asks Cancelling rather than looking at the state. Set it only through RequestCancel.
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Attempts counts start attempts, to stop retrying a run that keeps failing to start.
	Attempts int `json:"attempts,omitempty"`
	// Effects is the run's outbox: the side effects that must follow its state changes,
	// written by the same atomic update as the change they follow and removed once done.
	// Never shown to clients.
	Effects []Effect `json:"effects,omitempty"`
	// Version increases with every stored change.
	Version int64 `json:"version"`
}

// ReviewPending reports whether any of the run's outputs waits for a reviewer's decision.
func (r *Run) ReviewPending() bool {
	for _, o := range r.Released {
		if o.Status == OutputPending {
			return true
		}
	}
	return false
}

// AddSystemLog appends an Enclave message to the run's log, bounded so a run that loops
// cannot grow without limit.
func (r *Run) AddSystemLog(msg string) {
	const max = 50
	if len(r.Log.SystemLogs) >= max {
		r.Log.SystemLogs = append(r.Log.SystemLogs[:max-1], msg)
		return
	}
	r.Log.SystemLogs = append(r.Log.SystemLogs, msg)
}

// EffectKind names what an Effect does.
type EffectKind string

const (
	// EffectAudit records Effect.Event in the audit trail.
	EffectAudit EffectKind = "audit"
	// EffectCleanup releases the backend resources of the run's ended job (Cleaner),
	// found through Run.Handle.
	EffectCleanup EffectKind = "cleanup"
	// EffectRelease frees the run's executor slot (Admission) once it has ended, and
	// lets the next waiting runs in.
	EffectRelease EffectKind = "release"
	// EffectNotify hands Effect.Notice to the Notifier (webhooks, mail), which queues its
	// deliveries; the notice's id makes a repeat harmless.
	EffectNotify EffectKind = "notify"
)

// Effect is one side effect that must follow a state change of its run: an audit event
// to record, a job to clean up. It is stored in the run's outbox (Run.Effects) by the
// same atomic update as the change, so a worker that dies right after the change loses
// nothing: the step that made the change does it at once, and anyone who finds it there
// after NotBefore (a later step of the run, the reconciler) does it instead. It is
// removed once done, so it is done at least once, and more than once only when its doer
// dies (or loses the store) between doing it and removing it.
type Effect struct {
	// ID names the effect within its run; an audit event carries it as detail event_id,
	// so a repeated event can be told from a second state change.
	ID   string     `json:"id"`
	Kind EffectKind `json:"kind"`
	// Event is what EffectAudit records, its time included.
	Event *AuditEvent `json:"event,omitempty"`
	// Notice is what EffectNotify sends, its id and time included.
	Notice *Notice `json:"notice,omitempty"`
	// NotBefore is when others than the step that stored the effect may do it: until
	// then that step is expected to be doing it.
	NotBefore time.Time `json:"not_before"`
	// Tries counts failed attempts; each pushes NotBefore further back.
	Tries int `json:"tries,omitempty"`
}

// RequestCancel records that the run is to be cancelled, inside a store update: the
// intent (CancelRequested) and, for a run that has not ended, the state CANCELING, which
// the store's atomic update validates as any other transition. A step that cannot stop
// the job itself (none started yet, or one whose Handle is not stored) leaves the run
// CANCELING for the step that can.
func (r *Run) RequestCancel() {
	r.CancelRequested = true
	if !r.State.Terminal() {
		r.State = StateCanceling
	}
}

// Cancelling reports whether a cancel was requested for the run and it has not ended: the
// one question every step asks about cancel intent.
func (r *Run) Cancelling() bool {
	return !r.State.Terminal() && (r.CancelRequested || r.State == StateCanceling)
}
