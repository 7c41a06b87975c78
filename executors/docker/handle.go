package docker

import (
	"encoding/json"
	"regexp"

	"github.com/spe4hd/enclave/pkg/wes"
)

// handleVersion is the version of handleData; bump it when the layout changes.
const handleVersion = 1

// handleData is what a handle carries: enough to find the container and deliver logs.
type handleData struct {
	ContainerID string `json:"container_id"`
	JobID       string `json:"job_id"`
	Stdout      string `json:"stdout"`
	Stderr      string `json:"stderr"`
	TimeLimitNS int64  `json:"time_limit_ns,omitempty"`
}

func encodeHandle(d handleData) (wes.Handle, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return wes.Handle{}, wes.Internal(err, "could not encode the job's handle")
	}
	return wes.Handle{Executor: Name, Version: handleVersion, Data: b}, nil
}

var containerIDRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

func decodeHandle(h wes.Handle) (handleData, error) {
	if h.Executor != Name {
		return handleData{}, wes.Errorf(wes.EINVALID, "handle belongs to executor %q, not %q", h.Executor, Name)
	}
	if h.Version != handleVersion {
		return handleData{}, wes.Errorf(wes.EINVALID, "unsupported docker handle version %d", h.Version)
	}
	var d handleData
	if err := json.Unmarshal(h.Data, &d); err != nil || !containerIDRe.MatchString(d.ContainerID) || d.JobID == "" {
		return handleData{}, wes.Errorf(wes.EINVALID, "malformed docker handle")
	}
	return d, nil
}
