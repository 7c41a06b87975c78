package engines

import (
	"slices"
	"strconv"
	"time"

	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/executors/slurm"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Executor parameters: workflow_engine_parameters that every engine accepts and passes on
// to the executor instead of the engine's command line. They choose where and with what
// a run's job runs. Each executor package declares the ones it honours (its Params:
// SLURM's partition, account and qos, and every executor's memory-mb and time-limit),
// and executors.Params lists them all.
//
// Their types are checked here like any engine parameter; whether a value may be used is
// the executor's decision (the SLURM executor's allow-lists, checked at POST /runs through
// wes.SubmitChecker and again at Submit). memory-mb and time-limit become the job's
// Resources, the others reach the executor in wes.Job.Params. Executors that have no
// such notion ignore them. A catalogue workflow may list them in its
// allowed_engine_params like any other parameter.
const (
	ParamPartition = slurm.ParamPartition
	ParamAccount   = slurm.ParamAccount
	ParamQOS       = slurm.ParamQOS
	ParamMemoryMB  = wes.ParamMemoryMB
	ParamTimeLimit = wes.ParamTimeLimit
)

// ExecutorParams is the allow-list of executor parameters, from the executors'
// registry; ParamsFor appends it to every engine's own parameters (an engine parameter
// of the same name wins).
var ExecutorParams = executors.Params()

// IsExecutorParam reports whether name is one of ExecutorParams.
func IsExecutorParam(name string) bool {
	return slices.ContainsFunc(ExecutorParams, func(p wes.EngineParam) bool { return p.Name == name })
}

// ApplyExecutorParams carries the executor parameters among a run's (validated)
// workflow_engine_parameters into job: memory-mb and time-limit into job.Resources (over
// the engine's and the catalogue entry's, which is why a catalogue workflow lets clients
// set them only when its allowed_engine_params names them), the others (partition,
// account, qos) into job.Params (over any value the engine set). Values that do not
// parse are left out: ValidateParams has refused them already.
func ApplyExecutorParams(job *wes.Job, params map[string]string) {
	for _, p := range ExecutorParams {
		v, ok := params[p.Name]
		if !ok || p.Name == ParamMemoryMB || p.Name == ParamTimeLimit {
			continue
		}
		if job.Params == nil {
			job.Params = map[string]string{}
		}
		job.Params[p.Name] = v
	}
	if v, ok := params[ParamMemoryMB]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			job.Resources.MemoryMB = n
		}
	}
	if v, ok := params[ParamTimeLimit]; ok {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			job.Resources.TimeLimit = d
		}
	}
}

// executorParamsFor returns ExecutorParams without the names the engine declares itself.
func executorParamsFor(own []wes.EngineParam) []wes.EngineParam {
	var out []wes.EngineParam
	for _, p := range ExecutorParams {
		if !slices.ContainsFunc(own, func(o wes.EngineParam) bool { return o.Name == p.Name }) {
			out = append(out, p)
		}
	}
	return out
}
