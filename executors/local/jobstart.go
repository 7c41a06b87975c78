package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// startJob starts the job's first process: in a process group of its own (which Cancel
// signals), in job.WorkDir, with the job's environment and output files and stdin from
// /dev/null, under its resource limits. It calls started with the job's pid before the
// job runs its first instruction, so that Status never says queued for a job that has
// begun to work. The returned command has started; the caller waits for it.
//
// How. Go runs no code of ours in the child between fork and execve, and prlimit(2) on
// a child that already runs would race with it (it could allocate or fork first). So the
// job starts traced (PTRACE_TRACEME): the kernel stops it right after execve, before the
// first instruction of the new program; the shim sets the limits with prlimit(2), calls
// started, and detaches, and the job runs. (A set-user-ID or file-capability program as
// the job's very first program would therefore run without its privileges; the engines
// started here are not such programs, and what they start is not traced.) Where ptrace
// is not allowed (a seccomp filter, Yama ptrace_scope 2 or 3), a job with limits starts
// as the shim's exec stage, which sets the limits on itself and then execs the job (one
// start of the enclave binary later), and a job without limits is exec'd directly;
// started is then called as soon as the process exists.
func startJob(dir string, sp spec, path string, stdout, stderr *os.File, started func(pid int)) (*exec.Cmd, error) {
	limits := rlimitsFor(sp.Job.Resources)
	cmd := jobCommand(path, sp.Job.Argv, jobEnv(sp), sp.Job.WorkDir, stdout, stderr)
	err := startTraced(cmd, limits, started)
	if err == nil || !(errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS)) {
		return cmd, err
	}
	// ptrace(PTRACE_TRACEME) refused (an execve that failed with these fails again
	// below). Either way the child never ran the job.
	return startUntraced(dir, sp, path, stdout, stderr, limits, started)
}

// startUntraced starts the job where ptrace is not allowed.
func startUntraced(dir string, sp spec, path string, stdout, stderr *os.File, limits []rlimit, started func(pid int)) (*exec.Cmd, error) {
	cmd := jobCommand(path, sp.Job.Argv, jobEnv(sp), sp.Job.WorkDir, stdout, stderr)
	if len(limits) > 0 {
		args := append(slices.Clone(sp.Shim), "exec", dir, path)
		cmd = jobCommand(sp.Shim[0], args, os.Environ(), sp.Job.WorkDir, stdout, stderr)
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	started(cmd.Process.Pid)
	return cmd, nil
}

// jobCommand is a command in its own process group; argv[0] is kept as the job gave it.
func jobCommand(path string, argv, env []string, workDir string, stdout, stderr *os.File) *exec.Cmd {
	return &exec.Cmd{Path: path, Args: argv, Env: env, Dir: workDir, Stdout: stdout, Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
}

// errGoneBeforeRelease: the traced job died (it can only have been SIGKILLed) before
// the shim released it.
var errGoneBeforeRelease = errors.New("the job's process ended before its limits were set")

// startTraced starts cmd stopped at its execve, applies limits with prlimit(2), calls
// started and lets it run. On error the process is gone (killed and reaped) or was never
// started.
func startTraced(cmd *exec.Cmd, limits []rlimit, started func(pid int)) error {
	// ptrace requests are only accepted from the thread that started the tracee.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.SysProcAttr.Ptrace = true
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	for {
		// A tracee's stops are reported without WUNTRACED. The tracee cannot end on its
		// own before it is released, so an exit consumed here was a SIGKILL.
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return killTraced(cmd, fmt.Errorf("waiting for the job to stop at its execve: %w", err))
		case !ws.Stopped():
			return errGoneBeforeRelease
		case ws.StopSignal() != syscall.SIGTRAP:
			// A signal that came before the execve's SIGTRAP: deliver it and wait on.
			if err := unix.PtraceCont(pid, int(ws.StopSignal())); err != nil {
				return killTraced(cmd, fmt.Errorf("ptrace continue: %w", err))
			}
			continue
		}
		for _, l := range limits {
			lim := l.lim
			if err := unix.Prlimit(pid, l.resource, &lim, nil); err != nil {
				return killTraced(cmd, fmt.Errorf("prlimit %s: %w", l.name, err))
			}
		}
		started(pid)
		// Detach without a signal: the SIGTRAP of the execve is dropped.
		if err := unix.PtraceDetach(pid); err != nil {
			return killTraced(cmd, fmt.Errorf("ptrace detach: %w", err))
		}
		return nil
	}
}

// killTraced kills a job that must not run (it would run without its limits) and reaps it.
func killTraced(cmd *exec.Cmd, err error) error {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return err
}
