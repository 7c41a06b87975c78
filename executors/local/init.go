package local

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// initMain is the init stage of a job confined with namespaces: PID 1 of the job's new
// pid namespace (and of its mount, net, ipc and uts namespaces), started by the shim as
// root. It builds the job's view of the file system (see enterRoot), restricts itself
// with Landlock, starts the job as the plan's unprivileged uid, forwards SIGTERM, SIGINT
// and SIGHUP to every process of the namespace, reaps orphans, and when the job's first
// process ends reports its wait status and exits, upon which the kernel kills every
// process left in the namespace: nothing the job started, setsid and double forks
// included, outlives it. (A PID 1 that does not handle a signal ignores it, so the job
// itself must not be PID 1.)
func initMain(dir, path string) int {
	unix.CloseOnExec(reportFD)
	// Handle before anything else: until then SIGTERM would be ignored (PID 1).
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	sp, err := readSpec(dir)
	if err != nil {
		return stageFail("cannot read the job spec: %v", err)
	}
	p := sp.Confine
	if p == nil || !p.Namespaces || os.Getpid() != 1 {
		return stageFail("the init stage runs only as PID 1 of a job planned with namespaces")
	}
	if err := enterRoot(dir, sp); err != nil {
		return stageFail("cannot build the job's file system view: %v", err)
	}
	if err := applyLandlock(p, sp.Job, "/tmp", "/dev/shm"); err != nil {
		return stageFail("cannot confine the job: %v", err)
	}
	newCmd := func() *exec.Cmd {
		return &exec.Cmd{Path: path, Args: sp.Job.Argv, Env: jobEnvConfined(sp, "/tmp"), Dir: sp.Job.WorkDir,
			Stdout: os.Stdout, Stderr: os.Stderr,
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true,
				Credential: &syscall.Credential{Uid: uint32(p.UID), Gid: uint32(p.GID), Groups: []uint32{}}}}
	}
	cmd, err := startInNamespace(newCmd, rlimitsFor(sp.Job.Resources))
	if err != nil {
		return stageFail("cannot start the job: %v", err)
	}
	go func() {
		for s := range sigs {
			_ = unix.Kill(-1, s.(syscall.Signal)) // every process of the namespace but init
		}
	}()
	job := cmd.Process.Pid
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return stageFail("waiting for the job: %v", err)
		case pid == job:
			st := int(ws)
			report(stageReport{Status: &st})
			return 0
		}
	}
}

// startInNamespace starts cmd under its resource limits: stopped at its execve and
// given its limits with prlimit(2), as the shim does (see startJob); where ptrace is not
// allowed, init takes the limits itself before it starts the job, which inherits them.
// newCmd builds a fresh command for each attempt.
func startInNamespace(newCmd func() *exec.Cmd, limits []rlimit) (*exec.Cmd, error) {
	cmd := newCmd()
	if len(limits) == 0 {
		return cmd, cmd.Start()
	}
	err := startTraced(cmd, limits, func(int) {})
	if err == nil || !(errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS)) {
		return cmd, err
	}
	for _, l := range limits {
		lim := l.lim
		if err := unix.Setrlimit(l.resource, &lim); err != nil {
			return nil, err
		}
	}
	cmd = newCmd()
	return cmd, cmd.Start()
}
