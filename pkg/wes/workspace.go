package wes

import "context"

// Collector is an optional Executor capability for backends whose jobs do not write into
// the worker's file system: the job ran somewhere else (a cluster reached over SFTP) on a
// copy of the run's work directory, and its files must be brought back before the run's
// outputs, tasks and logs are read.
//
// Collect copies the ended job's work directory and log files back to the paths the Job
// named. It needs nothing but the Handle, so a worker that restarted can collect the
// jobs of its predecessor. It is idempotent: calling it again copies the same files
// again. The runner calls it once the job has ended and before it reads outputs.
// Errors: EUNAVAILABLE when the backend cannot be reached (the step is retried and the
// run keeps its state); any other error makes the run SYSTEM_ERROR with the error's
// client-safe message.
type Collector interface {
	Collect(ctx context.Context, h Handle) error
}

// SubmitChecker is an optional Executor capability: the checks Submit would make of a
// run's owner and executor parameters (wes.Job.Owner and wes.Job.Params), made when the
// run is requested, so that a run the executor would refuse is answered with an error
// at POST /runs instead of failing later. params are the run's effective
// workflow_engine_parameters; names the executor does not read are ignored. It must not
// contact the backend, and it may be built without the backend's credentials (an API
// server that runs no worker).
// Errors: EINVALID naming the parameter and what is allowed; EFORBIDDEN when the owner
// may not use the executor.
type SubmitChecker interface {
	CheckSubmit(owner string, params map[string]string) error
}
