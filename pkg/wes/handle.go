package wes

import "encoding/json"

// HandleData is the data of an executor's handles when the executor can tell a
// well-formed one from another: DecodeHandle refuses data whose Valid is false, so that
// an executor never acts on a handle naming the wrong job, a path that is not clean or
// an id the backend would read as something else.
type HandleData interface {
	Valid() bool
}

// EncodeHandle returns the handle of one of executor's jobs: data, as JSON, in the layout
// of version. An error is EINTERNAL: data that does not encode is a bug.
func EncodeHandle(executor string, version int, data any) (Handle, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Handle{}, Internal(err, "could not encode the %s job handle", executor)
	}
	return Handle{Executor: executor, Version: version, Data: b}, nil
}

// DecodeHandle checks that h is a handle of executor in the layout of version, decodes
// its data into data (a pointer) and, when data is a HandleData, checks that it is
// valid. Every error is EINVALID and says which of these failed; none carries the data.
// Handles outlive upgrades in the run store: an executor that changes its layout bumps
// its version and keeps decoding the old one.
func DecodeHandle(h Handle, executor string, version int, data any) error {
	if h.Executor != executor {
		return Errorf(EINVALID, "the job handle belongs to executor %q, not %q", h.Executor, executor)
	}
	if h.Version != version {
		return Errorf(EINVALID, "the %s job handle has version %d, which this Enclave does not read (it reads version %d); "+
			"was it written by another release?", executor, h.Version, version)
	}
	if err := json.Unmarshal(h.Data, data); err != nil {
		return &Error{Code: EINVALID, Message: "the " + executor + " job handle's data is malformed", Err: err}
	}
	if d, ok := data.(HandleData); ok && !d.Valid() {
		return Errorf(EINVALID, "the %s job handle's data is malformed", executor)
	}
	return nil
}

// DecodeHandles decodes every handle of a batch with decode (an executor's own decoder,
// built on DecodeHandle), in order; the first error is the batch's: a StatusBatch
// answers for all of its handles or none.
func DecodeHandles[D any](hs []Handle, decode func(Handle) (D, error)) ([]D, error) {
	out := make([]D, len(hs))
	for i, h := range hs {
		d, err := decode(h)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}
