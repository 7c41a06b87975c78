package kubernetes

import (
	"context"

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

// Valid reports whether d names the Job of its run (wes.HandleData).
func (d *handleData) Valid() bool {
	return d.Name != "" && d.UID != "" && d.RunID != "" && d.Name == jobName(d.RunID)
}

func encodeHandle(d handleData) (wes.Handle, error) { return wes.EncodeHandle(Name, handleVersion, d) }

// decodeHandle checks h and that it names a Job of this executor's namespace: an
// executor never touches Jobs outside the namespace it is configured for.
func (e *Executor) decodeHandle(h wes.Handle) (handleData, error) {
	var d handleData
	if err := wes.DecodeHandle(h, Name, handleVersion, &d); err != nil {
		return handleData{}, err
	}
	if d.Namespace != e.cfg.Namespace {
		return handleData{}, wes.Errorf(wes.EINVALID, "the handle's Job is in namespace %q; this executor manages %q", d.Namespace, e.cfg.Namespace)
	}
	return d, nil
}

// observeHandle decodes h and reads its Job and pods.
func (e *Executor) observeHandle(ctx context.Context, h wes.Handle) (handleData, observed, error) {
	d, err := e.decodeHandle(h)
	if err != nil {
		return handleData{}, observed{}, err
	}
	obs, err := e.observe(ctx, d)
	return d, obs, err
}
