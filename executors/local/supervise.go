package local

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

	start := time.Now()
	started := func(pid int) {
		ps, _ := readProcStat(pid) // readable until we reap it
		_ = writeJSONBootLocal(filepath.Join(dir, fileStarted), startedRecord{PID: pid, PGID: pid,
			StartTicks: ps.StartTicks, StartTime: start, Confinement: sp.Confine.describe()})
	}
	var cmd *exec.Cmd
	var reports *os.File // the confining stage's report pipe
	if sp.Confine != nil {
		cmd, reports, err = startConfined(dir, sp, path, stdout, stderr, started)
	} else {
		cmd, err = startJob(dir, sp, path, stdout, stderr, started)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "executor-shim: could not start the job: %v\n", err) // shim.log, for the operators
		return failed(126, "the job could not be started: its command could not be executed, its work directory is gone or its resource limits could not be set")
	}
	pid := cmd.Process.Pid

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
	ticks := 0
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
			if ticks++; ticks%50 == 0 {
				reapOrphans(pid) // escaped processes of the job that ended meanwhile
			}
		}
	}
	end := time.Now()
	killGroup(pid, unix.SIGKILL) // whatever the job left behind in its group
	killDescendants()            // and whatever escaped it (setsid, double forks): see reap.go
	ws, ok := waitStatusOf(cmd.ProcessState)
	if reports != nil {
		_ = os.RemoveAll(filepath.Join(dir, fileTmp))
		rep := readReport(reports)
		if rep.Error != "" {
			fmt.Fprintf(os.Stderr, "executor-shim: the job could not be confined or started: %s\n", rep.Error) // shim.log
			r := failed(126, "the job could not be started in its confinement, so it did not run; the operators have the details in the executor's log")
			r.StartTime = start
			return r
		}
		if rep.Status != nil {
			ws, ok = syscall.WaitStatus(*rep.Status), true // the job's own, through its init
		}
	}
	return exitFrom(ws, ok, why, exists(cancelMarker), job.Resources.TimeLimit, start, end)
}

// exitFrom turns how the process ended, and why the shim stopped it, into the record.
// A cancel request wins over everything else, as CANCELED does for the run.
func exitFrom(ws syscall.WaitStatus, ok bool, why string, canceled bool, limit time.Duration, start, end time.Time) exitRecord {
	r := exitRecord{State: wes.JobFailed, StartTime: start, EndTime: end}
	if !ok {
		r.Message = "the job's process could not be waited for"
		return r
	}
	code := ws.ExitStatus()
	var sig syscall.Signal
	if ws.Signaled() {
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
