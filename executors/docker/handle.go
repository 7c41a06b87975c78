package docker

import (
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

var containerIDRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Valid reports whether d names a container by its full id (wes.HandleData).
func (d *handleData) Valid() bool { return containerIDRe.MatchString(d.ContainerID) && d.JobID != "" }

func encodeHandle(d handleData) (wes.Handle, error) { return wes.EncodeHandle(Name, handleVersion, d) }

func decodeHandle(h wes.Handle) (handleData, error) {
	var d handleData
	return d, wes.DecodeHandle(h, Name, handleVersion, &d)
}
