package local

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// initMain is the init stage of a job confined with namespaces: PID 1 of the job's new
// pid namespace (and of its mount, net, ipc and uts namespaces), started by the shim as
// root. It builds the job's view of the file system (see enterRoot), starts the job
// confined with Landlock as the plan's unprivileged uid (startJobInNamespace), forwards SIGTERM, SIGINT
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
	cmd, err := startJobInNamespace(sp, path)
	if err != nil {
		return stageFail("cannot start the job: %v", err)
	}
	// cmd holds an *os.File of the report pipe (ExtraFiles), whose finalizer would close it.
	defer runtime.KeepAlive(cmd)
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

// specFD is where the nsexec stage reads the job's spec from init: the state dir is not
// in the job's mount namespace.
const specFD = 4

// startJobInNamespace starts the job as the plan's uid in its own process group.
// Without resource limits init confines itself with Landlock and starts the job, which
// inherits the confinement, directly. With limits it starts the nsexec stage instead (as
// root, from /proc/self/exe, which is still this binary after the pivot), which confines
// itself, takes the uid and the limits and becomes the job: prlimit(2) on a process of
// another uid needs CAP_SYS_RESOURCE, which root does not always have, and init must not
// take the job's limits itself (a small address space limit breaks a Go process).
func startJobInNamespace(sp spec, path string) (*exec.Cmd, error) {
	p := sp.Confine
	cmd := &exec.Cmd{Path: path, Args: sp.Job.Argv, Env: jobEnvConfined(sp, "/tmp"), Dir: sp.Job.WorkDir,
		Stdout: os.Stdout, Stderr: os.Stderr, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if len(rlimitsFor(sp.Job.Resources)) == 0 {
		if err := applyLandlock(p, sp.Job, "/tmp", "/dev/shm"); err != nil {
			return nil, err
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(p.UID), Gid: uint32(p.GID), Groups: []uint32{}}
		return cmd, cmd.Start()
	}
	b, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd.Path, cmd.Args, cmd.Env = "/proc/self/exe", append(slices.Clone(sp.Shim), "nsexec", path), os.Environ()
	cmd.ExtraFiles = []*os.File{os.NewFile(reportFD, "report"), r} // reportFD, specFD
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	_, err = w.Write(b) // the stage reads it all before it does anything else
	w.Close()
	return cmd, err
}

// nsexecMain is the nsexec stage (see startJobInNamespace): the job's first process in
// its namespaces, still root. It confines itself with Landlock, takes the job's uid and
// gid, sets the limits on itself and becomes the job.
func nsexecMain(path string) int {
	unix.CloseOnExec(reportFD)
	unix.CloseOnExec(specFD)
	var sp spec
	if err := json.NewDecoder(os.NewFile(specFD, "spec")).Decode(&sp); err != nil || sp.Confine == nil || len(sp.Job.Argv) == 0 {
		return stageFail("cannot read the job spec from init: %v", err)
	}
	p := sp.Confine
	if err := applyLandlock(p, sp.Job, "/tmp", "/dev/shm"); err != nil {
		return stageFail("cannot confine the job: %v", err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return stageFail("setgroups: %v", err)
	}
	if err := syscall.Setgid(p.GID); err != nil {
		return stageFail("setgid: %v", err)
	}
	if err := syscall.Setuid(p.UID); err != nil {
		return stageFail("setuid: %v", err)
	}
	for _, l := range rlimitsFor(sp.Job.Resources) {
		lim := l.lim
		if err := unix.Setrlimit(l.resource, &lim); err != nil {
			return stageFail("cannot apply resource limit %s: %v", l.name, err)
		}
	}
	err := syscall.Exec(path, sp.Job.Argv, jobEnvConfined(sp, "/tmp"))
	return stageFail("cannot execute %s: %v", filepath.Base(sp.Job.Argv[0]), err)
}
