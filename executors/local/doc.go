// Package local is the executor that runs a job's argv on this machine, detached from the
// worker process: a worker that restarts (or is killed) re-attaches through the handle
// and the job keeps running.
//
// How a job runs. Submit writes the job's spec into Config.StateDir/<job id>/ and starts
// the shim (ShimMain, reached as `enclave executor-shim run DIR`) as the leader of a new
// session, so that no signal to the worker's process group reaches it. The shim is the
// worker's child: a goroutine waits for it while the worker lives (it ends with the
// shim), and if the worker dies the kernel re-parents the shim to init. Submit does not
// wait for the shim to come up, which would cost a start of the whole enclave binary:
// the shim's pid, its start time from /proc/<pid>/stat (fixed at fork) and the boot id
// are known as soon as the process exists, and they go into the handle, which Submit
// writes to disk before it returns. A reused pid is never mistaken for the shim, and a
// shim that is gone without an exit record makes the job JobLost. The status of a job
// whose shim has not started it yet is JobQueued.
//
// The shim records itself in shim.json, then starts the job (unconfined: see below for a
// confined one) in its own process group, in
// job.WorkDir, with stdout/stderr appended to job.Stdout/job.Stderr (parent directories
// created) and stdin from /dev/null, waits for it and writes exit.json atomically. The
// job starts stopped at its execve (ptrace), gets its resource limits with prlimit(2)
// and its start recorded in started.json before its first instruction (see startJob).
// Before its first Submit, an Executor checks once that ShimCommand is a shim of this
// protocol (`executor-shim probe`), so that a broken ShimCommand fails Submit rather
// than losing jobs.
//
// What the job gets. Its environment is PATH (Config.JobPath), HOME (the work dir) and
// LANG=C.UTF-8, plus job.Env; nothing of the worker's environment. Resource limits:
// Resources.TimeLimit is enforced on wall-clock time by the shim (SIGTERM, then SIGKILL
// after Config.Grace; the job fails with a message) with RLIMIT_CPU as a per-process
// backstop; Resources.MemoryMB sets RLIMIT_AS (virtual memory, per process);
// Resources.CPUs is not enforced (there are no cgroups here).
//
// The process tree. The shim is a child subreaper: whatever the job starts, in a session
// of its own (setsid) or double-forked, stays in the shim's tree, and when the job's
// first process ends (exit, cancel, time limit) the shim stops and then kills every
// process left in it (reap.go), before it records the end. A job in a pid namespace is
// also ended as a whole by the kernel when its init ends.
//
// Confinement (Config.Confinement: required, best-effort or off; confine.go). Submit
// decides a plan from the policy and what the machine offered when New probed it
// (Landlock ABI, root, namespaces), and writes it into the spec; the shim applies all of
// it or fails the job, and JobConfinement gives the run's system log one line about it.
// Without root the job starts as the exec stage, which restricts itself with Landlock
// (landlock.go: the system paths read-only less the hidden ones, its work dir and a
// private tmp read-write, its datasets read-only, no TCP bind or connect, no signals
// out) and becomes the job. As root the shim starts the init stage as PID 1 of new
// mount, pid, net, ipc and uts namespaces (init.go): it builds a root holding only the
// system paths, its work dir and datasets and a private /tmp (mountns.go), pivots into
// it, and starts the job as Config.JobUID with Landlock as well; init forwards signals,
// reaps, and its end kills the namespace. required refuses (EINVALID) a job the machine
// cannot confine so.
//
// Idempotence. Submits of one job id are serialised by a flock on submit.lock; the shim
// holds run.lock (a flock handed down from Submit) for its whole life, and writes
// shim.json before it starts the job. A Submit that died after starting the shim, before
// it wrote the handle, is recognised by the next one (the lock is held, or shim.json
// exists), which adopts that shim; the lock free and no shim.json means no job ever
// started. So at most one shim, and one job, is ever started per id.
//
// Cancel writes a cancel marker; the shim sees it within 100 ms, sends SIGTERM to the
// job's group and SIGKILL after the grace period, and records JobCanceled. Cancel waits
// for that record, so it may block for about Config.Grace.
package local
