package tes

import (
	"net/url"
	"path/filepath"

	"github.com/spe4hd/enclave/pkg/wes"
)

// handleVersion is the version of handleData; bump it when the fields change meaning.
const handleVersion = 1

// handleData is what a handle carries: the server and task, and the job's local paths the
// executor delivers the results to when the task has ended.
type handleData struct {
	Server      string `json:"server"` // base URL of the TES API, without credentials
	TaskID      string `json:"task_id"`
	JobID       string `json:"job_id"`
	WorkDir     string `json:"work_dir"`
	Stdout      string `json:"stdout"`
	Stderr      string `json:"stderr"`
	TimeLimitNS int64  `json:"time_limit_ns,omitempty"`
}

// Valid reports whether d names a task on an http(s) server and absolute local paths
// (wes.HandleData).
func (d *handleData) Valid() bool {
	u, err := url.Parse(d.Server)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && d.TaskID != "" && d.JobID != "" &&
		filepath.IsAbs(d.WorkDir) && filepath.IsAbs(d.Stdout) && filepath.IsAbs(d.Stderr)
}

func encodeHandle(d handleData) (wes.Handle, error) { return wes.EncodeHandle(Name, handleVersion, d) }

func decodeHandle(h wes.Handle) (handleData, error) {
	var d handleData
	return d, wes.DecodeHandle(h, Name, handleVersion, &d)
}

// decode reads h and checks that its task lives on this executor's server: polling
// another server would find no such task and fail the run as lost.
func (e *Executor) decode(h wes.Handle) (handleData, error) {
	d, err := decodeHandle(h)
	if err != nil {
		return d, err
	}
	if d.Server != e.server {
		return d, &wes.Error{Code: wes.EUNAVAILABLE,
			Message: "the job runs on another TES server than the tes executor is configured for (executor.tes.url)"}
	}
	return d, nil
}
