package wes

import (
	"context"
	"encoding/json"
	"io"
	"time"
)

// Resources are the limits a job runs with. Zero means the executor's default.
type Resources struct {
	CPUs      int           `json:"cpus,omitempty"`
	MemoryMB  int           `json:"memory_mb,omitempty"`
	TimeLimit time.Duration `json:"time_limit,omitempty"`
}

// Job is what an executor runs: an engine command line in a work directory. Argv is a
// list of arguments, never a shell string; Stdout and Stderr are file paths the executor
// writes the process's streams to.
type Job struct {
	ID        string            `json:"id"` // the run id; Submit is idempotent per ID
	Argv      []string          `json:"argv"`
	Env       map[string]string `json:"env,omitempty"`
	Image     string            `json:"image,omitempty"` // container executors
	WorkDir   string            `json:"work_dir"`
	Stdout    string            `json:"stdout"`
	Stderr    string            `json:"stderr"`
	Resources Resources         `json:"resources"`
	// Params are executor-specific settings taken from allow-listed engine parameters
	// (for example a SLURM partition). Executors ignore names they do not know.
	Params map[string]string `json:"params,omitempty"`
	// Owner is the subject of the run's owner: executors that map users to backend
	// accounts (SLURM's per-user SSH logins) use it; others ignore it.
	Owner string `json:"owner,omitempty"`
	// Datasets are the catalogue datasets the run reads, with their paths inside the zone.
	// Container executors mount exactly these, read-only, at the same paths (the engine's
	// params refer to them by those paths); nothing else of the zone's data is visible.
	Datasets []DatasetMount `json:"datasets,omitempty"`
}

// ImageOr is the job's image, or def (the executor's default image) when it names none.
func (j *Job) ImageOr(def string) string {
	if j.Image != "" {
		return j.Image
	}
	return def
}

// DatasetMount is one dataset a job may read: its catalogue id and its path in the zone.
type DatasetMount struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

// Handle is the persisted, versioned and opaque reference to a submitted job. Any
// executor instance of the same name can poll or cancel a job from its Handle alone,
// so a worker that restarts re-attaches to the jobs its predecessor started.
type Handle struct {
	Executor string          `json:"executor"`
	Version  int             `json:"version"`
	Data     json.RawMessage `json:"data"`
}

// JobState is an executor's view of a job.
type JobState string

const (
	JobQueued    JobState = "queued"    // accepted by the backend, not running yet
	JobRunning   JobState = "running"   // running
	JobSucceeded JobState = "succeeded" // ended with exit code 0
	JobFailed    JobState = "failed"    // ended with a non-zero exit code
	JobCanceled  JobState = "canceled"  // stopped by Cancel
	JobLost      JobState = "lost"      // the backend no longer knows the job (SYSTEM_ERROR)
)

// Ended reports whether the job will not change again.
func (s JobState) Ended() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCanceled || s == JobLost
}

// JobStatus is the state of a job as an executor reports it.
type JobStatus struct {
	State     JobState  `json:"state"`
	ExitCode  *int      `json:"exit_code,omitempty"`
	StartTime time.Time `json:"start_time,omitzero"`
	EndTime   time.Time `json:"end_time,omitzero"`
	Message   string    `json:"message,omitempty"` // Enclave's words, safe to show the owner
}

// Executor runs jobs on a backend. Implementations are stateless across processes: all
// they need to poll or cancel lives in the Handle.
type Executor interface {
	// Name is the executor's registry name, e.g. "local".
	Name() string
	// Submit starts job and returns its handle. Submitting a job whose ID the backend
	// already knows returns the existing job's handle instead of starting another.
	// Errors: EINVALID for bad job parameters, EUNAVAILABLE when the backend cannot be reached.
	Submit(ctx context.Context, job *Job) (Handle, error)
	// Status reports the job's state. EUNAVAILABLE when the backend cannot be reached.
	Status(ctx context.Context, h Handle) (JobStatus, error)
	// Cancel stops the job (graceful first, then forced). Cancelling an ended job is a no-op.
	Cancel(ctx context.Context, h Handle) error
}

// StatusBatcher is an optional Executor capability: the status of many jobs in one call.
// The result has one entry per handle, in order.
type StatusBatcher interface {
	StatusBatch(ctx context.Context, hs []Handle) ([]JobStatus, error)
}

// Cleaner is an optional Executor capability: release backend resources of an ended job
// (remove a container, delete a Kubernetes Job) once the run is finalized.
type Cleaner interface {
	Cleanup(ctx context.Context, h Handle) error
}

// LogReader is an optional Executor capability for backends whose logs are not files in
// the work directory. stream is "stdout" or "stderr".
type LogReader interface {
	Logs(ctx context.Context, h Handle, stream string) (io.ReadCloser, error)
}
