package local

import (
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spe4hd/enclave/pkg/wes"
)

// tick is how often the shim looks for a cancel marker.
const tick = 100 * time.Millisecond

// Why the shim stopped a job.
const (
	stopCancel    = "cancel"
	stopTimeLimit = "time limit"
	stopShutdown  = "shutdown"
)

// supervise runs the job to its end and returns its exit record (EndTime set).
func supervise(dir string, sp spec, sigs <-chan os.Signal) exitRecord {
	job := sp.Job
	failed := func(code int, msg string) exitRecord {
		return exitRecord{State: wes.JobFailed, ExitCode: &code, EndTime: time.Now(), Message: msg}
	}
	cancelMarker := filepath.Join(dir, fileCancel)
	if exists(cancelMarker) {
		return exitRecord{State: wes.JobCanceled, EndTime: time.Now(), Message: "canceled before the job started"}
	}
	path, err := lookPath(job.Argv[0], sp.Path, job.WorkDir)
	if err != nil {
		return failed(127, fmt.Sprintf("the job's command %q was not found or is not executable", filepath.Base(job.Argv[0])))
	}
	stdout, err := openLog(job.Stdout)
	if err != nil {
		return failed(126, "could not open the job's stdout file")
	}
	defer stdout.Close()
	stderr, err := openLog(job.Stderr)
	if err != nil {
		return failed(126, "could not open the job's stderr file")
	}
	defer stderr.Close()

	// The job starts as the shim's exec stage, which sets resource limits on itself and
	// then becomes the job (same pid), in a process group of its own that Cancel signals.
	cmd := exec.Command(sp.Shim[0], append(append([]string{}, sp.Shim[1:]...), "exec", dir, path)...)
	cmd.Dir = job.WorkDir
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return failed(126, "the job could not be started; check that its work directory still exists")
	}
	pid := cmd.Process.Pid
	ps, _ := readProcStat(pid) // readable until we reap it
	_ = writeJSONAtomic(filepath.Join(dir, fileStarted),
		startedRecord{PID: pid, PGID: pid, StartTicks: ps.StartTicks, StartTime: start})

	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var limit <-chan time.Time
	if job.Resources.TimeLimit > 0 {
		t := time.NewTimer(job.Resources.TimeLimit)
		defer t.Stop()
		limit = t.C
	}
	grace := sp.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	var why string
	var killAt time.Time
	stop := func(reason string) {
		if why == "" {
			why, killAt = reason, time.Now().Add(grace)
			killGroup(pid, unix.SIGTERM)
		}
	}
wait:
	for {
		select {
		case <-done:
			break wait
		case <-limit:
			stop(stopTimeLimit)
		case s := <-sigs:
			if s == unix.SIGTERM {
				stop(stopShutdown)
			}
		case now := <-ticker.C:
			if exists(cancelMarker) {
				stop(stopCancel)
			}
			if !killAt.IsZero() && now.After(killAt) {
				killGroup(pid, unix.SIGKILL)
			}
		}
	}
	end := time.Now()
	killGroup(pid, unix.SIGKILL) // whatever the job left behind in its group
	return exitFrom(cmd.ProcessState, why, exists(cancelMarker), job.Resources.TimeLimit, start, end)
}

// exitFrom turns how the process ended, and why the shim stopped it, into the record.
// A cancel request wins over everything else, as CANCELED does for the run.
func exitFrom(ps *os.ProcessState, why string, canceled bool, limit time.Duration, start, end time.Time) exitRecord {
	r := exitRecord{State: wes.JobFailed, StartTime: start, EndTime: end}
	if ps == nil {
		r.Message = "the job's process could not be waited for"
		return r
	}
	code := ps.ExitCode()
	var sig syscall.Signal
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig = ws.Signal()
		code = 128 + int(sig)
	}
	r.ExitCode = &code
	switch {
	case canceled || why == stopCancel:
		r.State, r.Message = wes.JobCanceled, "canceled on request"
	case why == stopShutdown:
		r.State, r.Message = wes.JobLost, "the job was stopped because its supervisor process was told to shut down"
	case why == stopTimeLimit:
		r.Message = fmt.Sprintf("the job exceeded its time limit of %s and was stopped", limit)
	case sig == unix.SIGXCPU:
		r.Message = "the job used up its CPU time limit"
	case sig != 0:
		r.Message = fmt.Sprintf("the job was killed by signal %s (%s)", unix.SignalName(sig), sig)
		if sig == unix.SIGKILL {
			r.Message += "; it may have run out of memory"
		}
	case code == 0:
		r.State = wes.JobSucceeded
	}
	return r
}

func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
}

// lookPath resolves argv[0] the way a shell would with the job's PATH (not the shim's):
// names with a slash are taken relative to the work directory.
func lookPath(name, pathList, workDir string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(workDir, p)
		}
		return p, executable(p)
	}
	for _, d := range filepath.SplitList(pathList) {
		if !filepath.IsAbs(d) {
			continue // an empty or relative PATH entry would depend on the work dir's contents
		}
		if p := filepath.Join(d, name); executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found on the job's PATH", name)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	return unix.Access(p, unix.X_OK)
}

// jobEnv is the job's whole environment: a minimal base plus job.Env.
func jobEnv(sp spec) []string {
	m := map[string]string{"PATH": sp.Path, "HOME": sp.Job.WorkDir, "LANG": "C.UTF-8"}
	maps.Copy(m, sp.Job.Env)
	env := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		env = append(env, k+"="+m[k])
	}
	return env
}

// execMain is the exec stage: it runs as the job's first process, already in the job's
// work dir, process group and output files, sets the limits and becomes the job.
func execMain(dir, path string) int {
	sp, err := readSpec(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "enclave: cannot read the job spec: %v\n", err)
		return 126
	}
	env := jobEnv(sp)
	if err := applyLimits(sp.Job.Resources); err != nil {
		fmt.Fprintf(os.Stderr, "enclave: cannot apply resource limits: %v\n", err)
		return 126
	}
	err = syscall.Exec(path, sp.Job.Argv, env)
	fmt.Fprintf(os.Stderr, "enclave: cannot execute %s: %v\n", sp.Job.Argv[0], err)
	return 126
}

// applyLimits sets the rlimits the job inherits across execve. Enforced here:
//   - MemoryMB → RLIMIT_AS (address space): a hard cap on virtual memory, per process.
//     Programs that reserve much more than they use (JVMs, Go) need headroom.
//   - TimeLimit → RLIMIT_CPU of TimeLimit × max(CPUs, 1) CPU seconds, per process: a
//     backstop; the wall-clock limit itself is the shim's timer (SIGTERM, grace, SIGKILL).
//
// CPUs is not enforced on this executor (no cgroups): it only scales the CPU backstop.
func applyLimits(r wes.Resources) error {
	if r.MemoryMB > 0 {
		b := uint64(r.MemoryMB) << 20
		if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: b, Max: b}); err != nil {
			return fmt.Errorf("RLIMIT_AS: %w", err)
		}
	}
	if r.TimeLimit > 0 {
		secs := uint64(math.Ceil(r.TimeLimit.Seconds())) * uint64(max(r.CPUs, 1))
		// SIGXCPU at the soft limit, SIGKILL at the hard one.
		if err := unix.Setrlimit(unix.RLIMIT_CPU, &unix.Rlimit{Cur: secs, Max: secs + 5}); err != nil {
			return fmt.Errorf("RLIMIT_CPU: %w", err)
		}
	}
	return nil
}
