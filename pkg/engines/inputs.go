package engines

import (
	"encoding/json"

	"github.com/spe4hd/enclave/pkg/wes"
)

// InputChecker is implemented by engines that can check the input paths in
// workflow_params against a run's work dir before the run is accepted. WES says an input
// file is an absolute URL or a path relative to the attachments, so a relative path must
// name something inside the work dir: never through "..", never through a link.
type InputChecker interface {
	// CheckInputs returns EINVALID, naming the field, for a relative path that could
	// lead outside workDir (and, where the engine knows a value is an input file, for
	// one that names no attached file); the error never shows workDir.
	CheckInputs(workDir string, params json.RawMessage) error
}

// CheckInputs runs e's input check when it has one, so that POST /runs can refuse with a
// 400 what Prepare would refuse later. Prepare checks again, for every run.
func CheckInputs(e wes.Engine, workDir string, params json.RawMessage) error {
	if c, ok := e.(InputChecker); ok {
		return c.CheckInputs(workDir, params)
	}
	return nil
}
