package kubernetes

import (
	"encoding/json"

	"github.com/spe4hd/enclave/pkg/wes"
)

// handleVersion is the version of handleData; bump it when the layout changes.
const handleVersion = 1

// handleData is what a handle carries: the Job (its UID tells it from a later Job of the
// same name) and where the job's logs go.
type handleData struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	RunID     string `json:"run_id"`
	Stdout    string `json:"stdout"`
	Stderr    string `json:"stderr"`
}

func encodeHandle(d handleData) (wes.Handle, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return wes.Handle{}, wes.Internal(err, "could not encode the job's handle")
	}
	return wes.Handle{Executor: Name, Version: handleVersion, Data: b}, nil
}

// decodeHandle checks h and that it names a Job of this executor's namespace: an
// executor never touches Jobs outside the namespace it is configured for.
func (e *Executor) decodeHandle(h wes.Handle) (handleData, error) {
	if h.Executor != Name {
		return handleData{}, wes.Errorf(wes.EINVALID, "handle belongs to executor %q, not %q", h.Executor, Name)
	}
	if h.Version != handleVersion {
		return handleData{}, wes.Errorf(wes.EINVALID, "unsupported kubernetes handle version %d", h.Version)
	}
	var d handleData
	if err := json.Unmarshal(h.Data, &d); err != nil || d.Name == "" || d.UID == "" || d.RunID == "" || d.Name != jobName(d.RunID) {
		return handleData{}, wes.Errorf(wes.EINVALID, "malformed kubernetes handle")
	}
	if d.Namespace != e.cfg.Namespace {
		return handleData{}, wes.Errorf(wes.EINVALID, "the handle's Job is in namespace %q; this executor manages %q", d.Namespace, e.cfg.Namespace)
	}
	return d, nil
}
