// Package docker is the executor that runs a job's argv in a container of a Docker
// engine, through the Engine API (github.com/moby/moby/client, API version negotiated,
// so a 20.10 daemon works).
//
// The container. One container per job, named "enclave-<job id>" and labelled
// enclave.run-id=<job id>; the label is how a repeated Submit and StatusBatch find it,
// the container id in the handle is how Status and Cancel do. It runs Config.Image (or
// job.Image) with Cmd = job.Argv (no shell, no entrypoint), Env = job.Env, as
// Config.User (non-root), with NetworkMode none, a read-only root file system, all
// capabilities dropped, no-new-privileges, a pids limit, CPU and memory limits from
// job.Resources (no swap), a tmpfs on /tmp (it takes the mode of the image's /tmp, which
// must be 1777 as usual), job.WorkDir bind-mounted read-write at
// Config.WorkMount (its working directory) and the job's own datasets (job.Datasets)
// bind-mounted read-only at their paths, nothing else of the zone: each must lie, with
// its symlinks resolved, inside one of Config.DatasetRoots, or Submit refuses the job
// (EINVALID). The work dir must be writable by Config.User: a root worker hands it over
// (chown) before the container starts. The engine must run on this machine: bind mounts
// and log files are paths here. Run the engine with --live-restore, so that restarting
// the daemon does not stop the jobs: the executor reports EUNAVAILABLE while the engine
// is down, and the runs carry on when it is back.
//
// Logs. The job writes to the engine's log (json-file), not to files: with argv and no
// shell nothing inside the container could redirect them. When Status (or StatusBatch)
// first sees the container ended it copies the stdout and stderr logs into job.Stdout
// and job.Stderr (parent directories created, written atomically); the copy is redone
// only while a file is older than the container's end, so it happens once and survives a
// crash half-way. Logs (wes.LogReader) streams the engine's log at any time, for a live
// view while the job runs.
//
// States. created → queued; running, paused, restarting → running; exited or dead →
// succeeded (exit 0), failed, or canceled when Cancel marked it; no container → lost.
// Cancel marks the container by renaming it "enclave-<job id>.canceled" (labels cannot
// change), then stops it: SIGTERM, SIGKILL after Config.Grace. Resources.TimeLimit is
// enforced by Status: a job running past it is stopped the same way and renamed
// ".timeout", which makes it fail with a message.
//
// Idempotence. Submits of one id in one process are serialised; across processes the
// container name is the lock (a second create gets a conflict and adopts the first
// container). A container is only started while it is "created", so a job never runs
// twice, except in the narrow case of two processes submitting one id at the same instant.
package docker
