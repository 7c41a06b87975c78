package wes

import (
	"context"
	"io"
	"time"
)

// The sealed zone: validated workflows, datasets, released outputs and the audit trail.

// OutputPolicy says which files of a finished run may leave the zone.
type OutputPolicy struct {
	// Globs are slash-separated patterns relative to the work directory (doublestar
	// syntax: results/**/*.csv). A file is released only if a glob matches it.
	Globs []string `json:"globs" yaml:"globs"`
	// MaxFileBytes and MaxTotalBytes bound each released file and their sum; MaxFiles
	// their number. Zero means the deployment's default.
	MaxFileBytes  int64 `json:"max_file_bytes,omitempty" yaml:"max_file_bytes,omitempty"`
	MaxTotalBytes int64 `json:"max_total_bytes,omitempty" yaml:"max_total_bytes,omitempty"`
	MaxFiles      int   `json:"max_files,omitempty" yaml:"max_files,omitempty"`
	// Checks are the automatic disclosure checks every tabular output must pass before
	// it leaves the zone (pkg/egress/checks); nil checks nothing.
	Checks *DisclosureChecks `json:"checks,omitempty" yaml:"checks,omitempty"`
	// Approvals is how many distinct reviewers must approve a held file (egress review)
	// before it is released; the deployment's zone.review.approvals is the floor. Zero
	// means the floor.
	Approvals int `json:"approvals,omitempty" yaml:"approvals,omitempty"`
}

// DisclosureChecks are a workflow's automatic disclosure checks on tabular outputs
// (CSV, TSV). Under egress auto a file that fails one stays in the zone; under egress
// review it is held with its results flagged for the reviewer.
type DisclosureChecks struct {
	// Files are the globs of the outputs checked (relative to the work dir); default
	// **/*.csv and **/*.tsv. A checked file is read as CSV, or TSV when it ends in .tsv.
	Files []string `json:"files,omitempty" yaml:"files,omitempty"`
	// MinCellCount, with CountColumns, requires every value in those columns to be a
	// count of at least MinCellCount or suppressed (empty, "*", "NA" or "<n").
	MinCellCount int      `json:"min_cell_count,omitempty" yaml:"min_cell_count,omitempty"`
	CountColumns []string `json:"count_columns,omitempty" yaml:"count_columns,omitempty"`
	// MaxRows bounds the data rows (after the header).
	MaxRows int `json:"max_rows,omitempty" yaml:"max_rows,omitempty"`
	// ForbiddenColumns are header names (case-insensitive) a file must not have.
	ForbiddenColumns []string `json:"forbidden_columns,omitempty" yaml:"forbidden_columns,omitempty"`
	// DenyPatterns are regular expressions (RE2) no cell may match, e.g. dates of birth
	// or record numbers.
	DenyPatterns []string `json:"deny_patterns,omitempty" yaml:"deny_patterns,omitempty"`
	// DatasetOverlap refuses a file holding any whole row of the run's input datasets.
	DatasetOverlap bool `json:"dataset_overlap,omitempty" yaml:"dataset_overlap,omitempty"`
}

// CheckResult is the outcome of one disclosure check on one output. Detail says where a
// check failed (a row number, a column name), never a value.
type CheckResult struct {
	Check  string `json:"check"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail,omitempty"`
}

// Log visibility of a workflow's engine output (which may carry data).
const (
	LogsNone  = "none"  // nobody reads engine stdout/stderr through the API
	LogsAdmin = "admin" // admins and data controllers only (default)
	LogsOwner = "owner" // the run's owner too
)

// Egress modes.
const (
	EgressAuto   = "auto"   // allow-listed outputs are released when the run ends
	EgressReview = "review" // they wait in quarantine until a data controller approves
)

// Output is one file a run released (or holds for review).
type Output struct {
	Path        string    `json:"path"`              // relative to the work dir, slash-separated
	Size        int64     `json:"size"`              //
	SHA256      string    `json:"sha256"`            // hex
	ContentType string    `json:"content_type"`      //
	Key         string    `json:"key"`               // object key in the ResultStore (never shown as a zone path)
	Status      string    `json:"status"`            // "released", "pending" or "rejected"
	Released    time.Time `json:"released,omitzero"` //
	// Reason says why an output was not released (a data controller's words, or
	// Enclave's when it changed before release); the run's owner sees it. Size, SHA256
	// and ContentType of an unreleased output are for reviewers only: a hash or size of
	// a small file can give its content away.
	Reason string `json:"reason,omitempty"`
	// Checks are the results of the workflow's disclosure checks on this file, shown to
	// its owner and reviewers.
	Checks []CheckResult `json:"checks,omitempty"`
	// ApprovalsRequired is how many distinct reviewers must approve a held file, fixed
	// when it was held (a later decision may only ask for more); ApprovedBy are those who
	// have, while it waits for the rest. Who approved is for reviewers; its owner sees
	// how many.
	ApprovalsRequired int      `json:"approvals_required,omitempty"`
	ApprovedBy        []string `json:"approved_by,omitempty"`
}

// Output statuses.
const (
	OutputReleased = "released"
	OutputPending  = "pending"
	OutputRejected = "rejected"
)

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key         string
	Size        int64
	SHA256      string
	ContentType string
}

// ResultStore keeps released outputs outside the zone (MinIO/S3, or a local directory
// for the embedded default).
type ResultStore interface {
	// Put stores size bytes from r under key, recording contentType and the sha256 it
	// computes while copying. EUNAVAILABLE when the backend cannot be reached.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (ObjectInfo, error)
	// Get opens an object. ENOTFOUND if there is none.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// URL returns a short-lived URL to download key directly, or "" when the store has no
	// such URLs (then clients use the API's download route).
	URL(ctx context.Context, key string, ttl time.Duration) (string, error)
	// DeletePrefix removes every object whose key starts with prefix.
	DeletePrefix(ctx context.Context, prefix string) error
}

// AuditEvent is one entry of the append-only audit trail.
type AuditEvent struct {
	Time     time.Time         `json:"time"`
	Actor    string            `json:"actor"`              // Principal.Subject, or "system"
	Action   string            `json:"action"`             // e.g. run.submit, run.refuse, run.state, egress.release, egress.refuse, output.download
	Outcome  string            `json:"outcome"`            // "ok", "refused", "error"
	RunID    string            `json:"run_id,omitempty"`   //
	Workflow string            `json:"workflow,omitempty"` // catalogue entry id
	Dataset  string            `json:"dataset,omitempty"`  // dataset id(s), comma-separated
	Reason   string            `json:"reason,omitempty"`   // why (for refusals), in Enclave's words
	Detail   map[string]string `json:"detail,omitempty"`   // e.g. path, size, sha256 of an output
}

// Auditor records audit events. Record must not lose an event it returned nil for.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}
