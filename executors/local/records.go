package local

import (
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// handleVersion is the version of handleData. Bump it when the meaning of a field changes,
// and keep decoding the old versions: handles outlive Enclave upgrades in the run store.
const handleVersion = 1

// handleData is the JSON inside wes.Handle.Data.
type handleData struct {
	StateDir  string `json:"state_dir"`
	BootID    string `json:"boot_id"`
	ShimPID   int    `json:"shim_pid"`
	ShimStart uint64 `json:"shim_start"` // /proc/<pid>/stat starttime, defends against pid reuse
	PGID      int    `json:"pgid,omitempty"`
	JobStart  uint64 `json:"job_start,omitempty"` // starttime of the job's first process (pid == PGID)
}

// spec is job.json: everything the shim needs, so that it never depends on the worker.
type spec struct {
	Job   wes.Job       `json:"job"`
	Shim  []string      `json:"shim"`  // the shim command, to start the next stage
	Grace time.Duration `json:"grace"` // SIGTERM → SIGKILL delay for cancel and time limit
	Path  string        `json:"path"`  // the job's PATH
	// Confine is how the job is confined (nil: not at all). The shim applies all of it
	// or fails the job.
	Confine *confinePlan `json:"confine,omitempty"`
}

// shimRecord is shim.json.
type shimRecord struct {
	PID    int    `json:"pid"`
	Start  uint64 `json:"start"`
	BootID string `json:"boot_id"`
}

// startedRecord is started.json.
type startedRecord struct {
	PID        int       `json:"pid"`
	PGID       int       `json:"pgid"`
	StartTicks uint64    `json:"start_ticks"`
	StartTime  time.Time `json:"start_time"`
	// Confinement is the plan's description: what the job got (or it failed to start).
	Confinement string `json:"confinement,omitempty"`
}

// exitRecord is exit.json: the job's final status.
type exitRecord struct {
	State     wes.JobState `json:"state"`
	ExitCode  *int         `json:"exit_code,omitempty"`
	StartTime time.Time    `json:"start_time,omitzero"`
	EndTime   time.Time    `json:"end_time"`
	Message   string       `json:"message,omitempty"`
}

func (r exitRecord) status() wes.JobStatus {
	return wes.JobStatus{State: r.State, ExitCode: r.ExitCode, StartTime: r.StartTime,
		EndTime: r.EndTime, Message: r.Message}
}

// Valid reports whether d names a state directory and a supervisor (wes.HandleData).
func (d *handleData) Valid() bool { return d.StateDir != "" && d.ShimPID > 0 }

func encodeHandle(d handleData) (wes.Handle, error) { return wes.EncodeHandle(Name, handleVersion, d) }

func decodeHandle(h wes.Handle) (handleData, error) {
	var d handleData
	return d, wes.DecodeHandle(h, Name, handleVersion, &d)
}
