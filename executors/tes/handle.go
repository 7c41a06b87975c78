package tes

import (
	"encoding/json"
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

func encodeHandle(d handleData) (wes.Handle, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return wes.Handle{}, wes.Internal(err, "could not encode the job's handle")
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
	if err := json.Unmarshal(h.Data, &d); err != nil || d.TaskID == "" || d.JobID == "" ||
		!filepath.IsAbs(d.WorkDir) || !filepath.IsAbs(d.Stdout) || !filepath.IsAbs(d.Stderr) {
		return handleData{}, wes.Errorf(wes.EINVALID, "the job handle's data is not a TES task reference")
	}
	if u, err := url.Parse(d.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return handleData{}, wes.Errorf(wes.EINVALID, "the job handle's data is not a TES task reference")
	}
	return d, nil
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
