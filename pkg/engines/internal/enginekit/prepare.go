package enginekit

import (
	"path/filepath"
	"strings"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Prepared is what every engine's Prepare needs before it builds its argv.
type Prepared struct {
	Version    string            // the engine version the run resolved to
	Params     map[string]string // allow-listed engine parameters with defaults filled in
	ParamsFile string            // workflow_params file, relative to the work dir
	Workflow   string            // the workflow file, relative to the work dir
}

// Prepare does the steps all engines share: check the workflow path, resolve the engine
// version (the run's, else the newest available), check workflow_engine_parameters
// against e's allow-list, record the input manifest and write workflow_params (each key
// checked by checkKey when it is not nil, the input paths checked and rewritten by
// inputs when it is not nil) to the params file.
func Prepare(e wes.Engine, in wes.PrepareInput, checkKey func(string) error, inputs InputsFunc) (*Prepared, error) {
	if in.Run == nil || in.WorkDir == "" {
		return nil, wes.Internal(nil, "engine %s: Prepare needs a run and a work dir", e.Name())
	}
	if err := CheckWorkflowPath(in.WorkDir, in.WorkflowPath); err != nil {
		return nil, err
	}
	version := in.Run.EngineVer
	if version == "" {
		version = engines.Newest(e.Versions())
	}
	req := in.Run.Request
	if err := engines.ValidateParams(e, version, req.WorkflowEngineParameters); err != nil {
		return nil, err
	}
	obj, err := ParamsObject(req.WorkflowParams)
	if err != nil {
		return nil, err
	}
	if checkKey != nil {
		for k := range obj {
			if err := checkKey(k); err != nil {
				return nil, err
			}
		}
	}
	if err := CheckStateDir(in.WorkDir); err != nil {
		return nil, err
	}
	if inputs != nil {
		if obj, err = inputs(in.WorkDir, obj); err != nil {
			return nil, err
		}
	}
	if err := RecordInputs(in.WorkDir); err != nil {
		return nil, err
	}
	pf, err := WriteParams(in.WorkDir, obj)
	if err != nil {
		return nil, err
	}
	wf := filepath.ToSlash(filepath.Clean(in.WorkflowPath))
	if strings.HasPrefix(wf, "-") {
		wf = "./" + wf // a file name must never read as an option
	}
	return &Prepared{
		Version:    version,
		Params:     engines.Effective(e, version, req.WorkflowEngineParameters),
		ParamsFile: filepath.ToSlash(pf),
		Workflow:   wf,
	}, nil
}
