package app

import (
	"github.com/spe4hd/enclave/executors/tes"
	"github.com/spe4hd/enclave/pkg/wes"
)

// taskURI is the API's tes_uri of a run's tasks: the TES task of a run on the tes
// executor, "" for every other executor. It reads the handle only, so an API server
// without a worker gives it too.
func taskURI(h wes.Handle) string {
	if h.Executor != tes.Name {
		return ""
	}
	u, err := tes.TaskURL(h)
	if err != nil {
		return ""
	}
	return u
}
