package engines

import (
	"slices"
	"strconv"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Executor parameters: workflow_engine_parameters that every engine accepts and passes on
// to the executor instead of the engine's command line. They choose where and with what
// a run's job runs:
//
//	partition   the batch partition (SLURM --partition)
//	account     the account the job is charged to (SLURM --account)
//	qos         the quality of service (SLURM --qos)
//	memory-mb   the job's memory in MiB (wes.Resources.MemoryMB)
//	time-limit  the job's wall-clock limit, a duration such as "2h" (wes.Resources.TimeLimit)
//
// Their types are checked here like any engine parameter; whether a value may be used is
// the executor's decision (the SLURM executor's allow-lists, checked at POST /runs through
// wes.SubmitChecker and again at Submit). partition, account and qos reach the executor
// in wes.Job.Params; memory-mb and time-limit become the job's Resources. Executors that
// have no such notion ignore them. A catalogue workflow may list them in its
// allowed_engine_params like any other parameter.
const (
	ParamPartition = "partition"
	ParamAccount   = "account"
	ParamQOS       = "qos"
	ParamMemoryMB  = "memory-mb"
	ParamTimeLimit = "time-limit"
)

// ExecutorParams is the allow-list of executor parameters; ParamsFor appends it to every
// engine's own parameters (an engine parameter of the same name wins).
var ExecutorParams = []wes.EngineParam{
	{Name: ParamPartition, Type: "string", Help: "batch partition the job runs in (slurm executor; the operators' allow-list applies)"},
	{Name: ParamAccount, Type: "string", Help: "account the job is charged to (slurm executor; the operators' allow-list applies)"},
	{Name: ParamQOS, Type: "string", Help: "quality of service of the job (slurm executor; the operators' allow-list applies)"},
	{Name: ParamMemoryMB, Type: "int", Min: 1, Max: 4 << 20, Help: "memory of the job in MiB"},
	{Name: ParamTimeLimit, Type: "duration", Help: `wall-clock limit of the job, e.g. "2h"`},
}

// jobParamNames are the executor parameters that go to wes.Job.Params as they are.
var jobParamNames = []string{ParamPartition, ParamAccount, ParamQOS}

// IsExecutorParam reports whether name is one of ExecutorParams.
func IsExecutorParam(name string) bool {
	return slices.ContainsFunc(ExecutorParams, func(p wes.EngineParam) bool { return p.Name == name })
}

// ApplyExecutorParams carries the executor parameters among a run's (validated)
// workflow_engine_parameters into job: partition, account and qos into job.Params (over
// any value the engine set), memory-mb and time-limit into job.Resources (over the
// engine's and the catalogue entry's, which is why a catalogue workflow lets clients set
// them only when its allowed_engine_params names them). Values that do not parse are
// left out: ValidateParams has refused them already.
func ApplyExecutorParams(job *wes.Job, params map[string]string) {
	for _, name := range jobParamNames {
		if v, ok := params[name]; ok {
			if job.Params == nil {
				job.Params = map[string]string{}
			}
			job.Params[name] = v
		}
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
