package slurm

import (
	"encoding/json"
	"regexp"

	"github.com/spe4hd/enclave/pkg/wes"
)

// handleVersion is the version of handleData; bump it when the fields change meaning.
const handleVersion = 1

// handleData is what a handle holds: the SLURM job id, and the job name (the run id),
// which guards against job ids that a cluster reuses after its state was wiped.
type handleData struct {
	JobID string `json:"job_id"`
	Name  string `json:"name"`
}

var jobIDPattern = regexp.MustCompile(`^[0-9]{1,18}$`)

func encodeHandle(d handleData) (wes.Handle, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return wes.Handle{}, wes.Internal(err, "could not encode the job handle")
	}
	return wes.Handle{Executor: Name, Version: handleVersion, Data: b}, nil
}

func decodeHandle(h wes.Handle) (handleData, error) {
	if h.Executor != Name {
		return handleData{}, wes.Errorf(wes.EINVALID, "the job handle belongs to executor %q, not %q", h.Executor, Name)
	}
	if h.Version != handleVersion {
		return handleData{}, wes.Errorf(wes.EINVALID, "the job handle has version %d; this executor reads version %d", h.Version, handleVersion)
	}
	var d handleData
	if err := json.Unmarshal(h.Data, &d); err != nil {
		return handleData{}, wes.Errorf(wes.EINVALID, "the job handle's data is not a SLURM job reference")
	}
	if !jobIDPattern.MatchString(d.JobID) || !runIDPattern.MatchString(d.Name) {
		return handleData{}, wes.Errorf(wes.EINVALID, "the job handle's data is not a SLURM job reference")
	}
	return d, nil
}
