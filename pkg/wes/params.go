package wes

// The executor parameters that set a job's Resources: a run may set them in
// workflow_engine_parameters, and every executor honours Resources, so every executor
// lists them among the parameters it accepts (see each executor package's Params).
const (
	ParamMemoryMB  = "memory-mb"
	ParamTimeLimit = "time-limit"
)

// ResourceParams describe ParamMemoryMB and ParamTimeLimit.
var ResourceParams = []EngineParam{
	{Name: ParamMemoryMB, Type: "int", Min: 1, Max: 4 << 20, Help: "memory of the job in MiB"},
	{Name: ParamTimeLimit, Type: "duration", Help: `wall-clock limit of the job, e.g. "2h"`},
}
