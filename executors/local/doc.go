// Package local is the executor that runs a job's argv on this machine, detached from the
// worker process: a worker that restarts (or is killed) re-attaches through the handle
// and the job keeps running.
//
// How a job runs. Submit writes the job's spec into Config.StateDir/<job id>/ and starts
// the shim (ShimMain, reached as `enclave executor-shim`) twice removed: a short-lived
// "launch" stage starts the "run" stage as the leader of a new session and exits, so the
// shim is a child of init, not of the worker. The shim starts the job in its own process
// group, in job.WorkDir, with stdout/stderr appended to job.Stdout/job.Stderr (parent
// directories created) and stdin from /dev/null, waits for it and writes exit.json
// atomically. The shim's pid, its start time from /proc/<pid>/stat and the boot id go
// into the handle, so a reused pid is never mistaken for the shim. A shim that is gone
// without an exit record makes the job JobLost.
//
// What the job gets. Its environment is PATH (Config.JobPath), HOME (the work dir) and
// LANG=C.UTF-8, plus job.Env; nothing of the worker's environment. Resource limits:
// Resources.TimeLimit is enforced on wall-clock time by the shim (SIGTERM, then SIGKILL
// after Config.Grace; the job fails with a message) with RLIMIT_CPU as a per-process
// backstop; Resources.MemoryMB sets RLIMIT_AS (virtual memory, per process);
// Resources.CPUs is not enforced (there are no cgroups here). Processes the job leaves
// behind in its process group are killed when its first process ends.
//
// Idempotence. Submits of one job id are serialised by a flock on submit.lock; the shim
// holds run.lock (a flock handed down from Submit) for its whole life, so a Submit can
// tell "never started" from "started by a Submit that died" and starts at most one shim.
//
// Cancel writes a cancel marker; the shim sees it within 100 ms, sends SIGTERM to the
// job's group and SIGKILL after the grace period, and records JobCanceled. Cancel waits
// for that record, so it may block for about Config.Grace.
package local
