package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// shimProtocol is what `executor-shim probe` prints: the shim's name and the version of
// the contract between executor and shim (modes, fd 3, state files). The executor checks
// it once before its first start of a shim, so that a ShimCommand that is not a shim, or
// is the shim of an incompatible Enclave, fails a Submit instead of losing the job.
const shimProtocol = "enclave-local-shim 3"

// ShimMain is the job supervisor ("shim"). The enclave binary routes
// `enclave executor-shim ARGS...` to it and exits with the code it returns. It reads
// everything it needs from the job's state directory, never from the environment:
//
//	probe             print shimProtocol and exit
//	run DIR           supervise the job: start it, apply cancel and time limit, record how it ended
//	exec DIR PATH     the job's first moments: confine it with Landlock (when its spec says
//	                  so), set resource limits, then execve PATH; used for confined jobs
//	                  without namespaces and where ptrace is not allowed (see startJob)
//	init DIR PATH     PID 1 of a confined job's namespaces: build its file system view,
//	                  confine it, start PATH as the job's uid, reap, forward signals (init.go)
//	nsexec PATH       started by init for a job with resource limits: confine, take the
//	                  job's uid, set limits, execve PATH (spec on fd 4, see init.go)
//	launch DIR        start `run DIR` in a new session and exit at once; only for executors
//	                  of older Enclave versions during an upgrade (Submit now starts `run` itself)
//
// The executor passes the run lock as file descriptor 3 to run (and launch); the shim
// passes the write end of a report pipe as file descriptor 3 to exec and init when the
// job is confined (stage.go).
func ShimMain(args []string) int {
	if len(args) == 1 && args[0] == "probe" {
		fmt.Println(shimProtocol)
		return 0
	}
	if len(args) < 2 || !filepath.IsAbs(args[1]) {
		fmt.Fprintln(os.Stderr, "usage: executor-shim probe | run DIR | exec DIR PATH | init DIR PATH | nsexec PATH (absolute); started by the local executor, not by hand")
		return 2
	}
	mode, dir := args[0], args[1]
	var err error
	switch {
	case mode == "run" && len(args) == 2:
		err = runMain(dir)
	case mode == "exec" && len(args) == 3:
		return execMain(dir, args[2])
	case mode == "init" && len(args) == 3:
		return initMain(dir, args[2])
	case mode == "nsexec" && len(args) == 2:
		return nsexecMain(args[1])
	case mode == "launch" && len(args) == 2:
		err = launchMain(dir)
	default:
		fmt.Fprintf(os.Stderr, "executor-shim: unknown mode %q or wrong number of arguments\n", mode)
		return 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "executor-shim %s: %v\n", mode, err)
		return 1
	}
	return 0
}

func readSpec(dir string) (spec, error) {
	var sp spec
	ok, err := readJSON(filepath.Join(dir, fileSpec), &sp)
	if err == nil && !ok {
		err = errors.New("no job spec")
	}
	if err == nil && (len(sp.Shim) == 0 || len(sp.Job.Argv) == 0) {
		err = errors.New("job spec lacks the shim command or the job argv")
	}
	return sp, err
}

// inheritedRunLock returns fd 3, the run lock the executor took.
func inheritedRunLock() (*os.File, error) {
	if _, err := unix.FcntlInt(3, unix.F_GETFD, 0); err != nil {
		return nil, fmt.Errorf("run lock (fd 3) not inherited: %w", err)
	}
	return os.NewFile(3, fileRunLock), nil
}

// launchMain starts the shim proper as the leader of a new session and exits without
// waiting. Kept for executors of older versions, which start the shim through it.
func launchMain(dir string) error {
	sp, err := readSpec(dir)
	if err != nil {
		return err
	}
	lock, err := inheritedRunLock()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, fileShimLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(sp.Shim[0], append(append([]string{}, sp.Shim[1:]...), "run", dir)...)
	cmd.Env = os.Environ() // the executor's ShimEnv, nothing else
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{lock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd.Start()
}

// runMain is the shim proper. It holds the run lock until it exits.
//
// It records its own identity in shim.json before anything else. Submit records the
// same identity in the handle as soon as it has started the shim; shim.json is what a
// later Submit adopts when that Submit died before it could write the handle, and its
// absence, with the run lock free, proves that no job was ever started.
func runMain(dir string) error {
	lock, err := inheritedRunLock()
	if err != nil {
		return err
	}
	defer runtime.KeepAlive(lock) // a collected *os.File would close fd 3 and drop the lock
	unix.CloseOnExec(3)           // the job must not inherit the lock

	// Handled (not ignored) signals: an ignored disposition would be inherited by the job.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGHUP, unix.SIGINT, unix.SIGTERM)

	sp, err := readSpec(dir)
	if err != nil {
		return err
	}
	if err := becomeSubreaper(); err != nil {
		return fmt.Errorf("becoming the subreaper of the job's processes: %w", err)
	}
	self, err := readProcStat(os.Getpid())
	if err != nil {
		return err
	}
	boot, err := bootID()
	if err != nil {
		return err
	}
	rec := shimRecord{PID: os.Getpid(), Start: self.StartTicks, BootID: boot}
	if err := writeJSONAtomic(filepath.Join(dir, fileShim), rec); err != nil {
		return err
	}
	exit := supervise(dir, sp, sigs)
	return writeJSONAtomic(filepath.Join(dir, fileExit), exit)
}
