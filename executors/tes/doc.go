// Package tes is the executor that runs a job as a task of a GA4GH Task Execution Service
// (TES 1.1, e.g. Funnel), through the client generated in api/tes.
//
// The task. One task per job: name = job id, tags enclave_run_id=<job id> and
// managed_by=enclave. Its executors are a staging step (`cp -R -p` of the work dir, in
// Config.StageImage or the job's image) and then the job: job.Image (or Config.Image)
// with command = job.Argv, workdir = job.WorkDir, env = job.Env, stdout and stderr to
// files. The work dir travels as file:// URLs, so the TES server must see it at the same
// path (a shared file system) and every path must lie in Config.AllowedDirs: it comes in
// as a DIRECTORY input (read-only, at /.enclave-tes/in), the staging step copies it to
// job.WorkDir inside the container (so argv paths stay valid), and when the task
// completes the server copies job.WorkDir, stdout and stderr back as DIRECTORY and FILE
// outputs to <work dir>/.enclave-tes, from where Status moves them into place (deliver.go).
// Datasets come in as read-only inputs at their own paths. Resources: cpu_cores, ram_gb
// and the job.Params named in Config.BackendParameters as backend_parameters.
//
// States. QUEUED, INITIALIZING, UNKNOWN → queued; RUNNING, PAUSED, CANCELING → running;
// COMPLETE → succeeded; EXECUTOR_ERROR → failed with the job executor's exit code;
// CANCELED → canceled when Cancel asked for it (it leaves a mark in the job's log dir
// first), else lost: a task canceled by the server's operator or another client is not a
// cancel the run's owner asked for; SYSTEM_ERROR and PREEMPTED → lost with a message, as
// is a task the server no longer knows (HTTP 404). A server that cannot be reached, or
// answers 5xx or 429, is EUNAVAILABLE. Resources.TimeLimit, which TES lacks, is enforced
// by Status: a task running past it is canceled and the job reported failed.
//
// Idempotence. Submit lists the tasks tagged with the job id and reuses the newest one
// that did not end in SYSTEM_ERROR or PREEMPTED; Submits of one id in one process are
// serialised. Two processes submitting one id at the same instant may still create two
// tasks. StatusBatch is one listing (tag managed_by=enclave, view BASIC), paged until
// every handle's task was seen.
//
// Handle. The TES API's base URL and the task id, plus the job's paths: any instance
// configured for the same URL takes the job over; TaskURL gives the task's URL for the
// tes_uri of WES task logs.
//
// Limits. Env values, the image and the paths must not contain white space (Funnel builds
// `docker run` from a template split at spaces); a one-element argv is run by Funnel through
// `/bin/sh -c`. A job that fails returns only its stdout/stderr tails and leaves the
// work dir as it was before the job (TES uploads outputs only after success). The
// executor must be able to rename files the TES server wrote into the work dir (same user
// or root).
package tes
