// Package slurm is the executor that runs a job as a SLURM batch job, either through SSH
// on a login node (Config.Mode "ssh") or with the SLURM commands of this machine (Mode
// "local", a worker that runs on a login node itself).
//
// How a job runs. Submit renders a POSIX sh batch script that exports job.Env and execs
// job.Argv, every word single-quoted (Quote), and feeds it to `sbatch --parsable` on
// standard input, with the run id as the job name, job.WorkDir as --chdir and
// job.Stdout/job.Stderr as -o/-e. Every SLURM command is an argv; over SSH it becomes
// one command line of single-quoted words, so no part of a job reaches a remote shell
// unquoted.
//
// Workspaces. With WorkspaceShared the worker and the job see the same files at the same
// paths. With WorkspaceSFTP Submit copies the work directory to the cluster over the SSH
// connection (paths mapped from LocalRoot to RemoteRoot), Collect (wes.Collector) copies
// it back once the job has ended, and Cleanup (wes.Cleaner) removes the cluster copy; see
// workspace.go.
//
// Accounts and parameters. With Config.Logins each run owner's jobs run as their own
// cluster login, recorded in the handle (logins.go). Partition, account and QOS come from
// the job's Params only when the allow-lists permit them; Checker (wes.SubmitChecker)
// makes the same checks for the API when a run is requested (check.go).
//
// Idempotence. The job name is the run id. Before sbatch, Submit looks the name up
// (squeue, then the job completion log with `sacct -c`) and returns the existing job's
// handle; Submits of one id within an Executor are serialised. Two workers submitting
// the same id at the same instant could still both reach sbatch: the run queue hands a
// run to one worker at a time, which is what makes that case not arise.
//
// Status uses `scontrol show job -o` while SLURM still remembers the job (MinJobAge) and
// `sacct -c` afterwards; StatusBatch asks squeue once for all handles. A job neither
// knows is JobLost. Cancel is scancel (SIGTERM, then SIGKILL after the cluster's
// KillWait); cancelling an ended job is a no-op.
//
// SSH. One client per login is shared by all calls, kept alive with keep-alive requests and
// re-dialled when a call finds it broken. Host keys are always verified against
// Config.SSH.KnownHostsFile. Failures to reach the login node or the controller are
// wes.EUNAVAILABLE.
package slurm
