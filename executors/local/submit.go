package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spe4hd/enclave/pkg/wes"
)

// startTimeout bounds how long Submit waits for the shim to start the job.
const startTimeout = 30 * time.Second

// pollInterval is how often the executor re-checks files while it waits.
const pollInterval = 20 * time.Millisecond

// validID keeps job ids usable as one path component of the state directory.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func validateJob(job *wes.Job) error {
	if job == nil {
		return wes.Errorf(wes.EINVALID, "job is missing")
	}
	if !validID.MatchString(job.ID) {
		return wes.Errorf(wes.EINVALID, "job id %q is invalid: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", job.ID)
	}
	if len(job.Argv) == 0 || job.Argv[0] == "" {
		return wes.Errorf(wes.EINVALID, "job argv is empty: the job needs a command to run")
	}
	for i, a := range job.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return wes.Errorf(wes.EINVALID, "job argv[%d] contains a NUL byte", i)
		}
	}
	for k, v := range job.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.IndexByte(v, 0) >= 0 {
			return wes.Errorf(wes.EINVALID, "job env has an invalid variable %q: names must be non-empty without '=' or NUL", k)
		}
	}
	if job.WorkDir == "" || !filepath.IsAbs(job.WorkDir) {
		return wes.Errorf(wes.EINVALID, "job work_dir must be an absolute path")
	}
	if fi, err := os.Stat(job.WorkDir); err != nil || !fi.IsDir() {
		return wes.Errorf(wes.EINVALID, "job work_dir does not exist or is not a directory")
	}
	if !filepath.IsAbs(job.Stdout) || !filepath.IsAbs(job.Stderr) {
		return wes.Errorf(wes.EINVALID, "job stdout and stderr must be absolute file paths")
	}
	r := job.Resources
	if r.CPUs < 0 || r.MemoryMB < 0 || r.TimeLimit < 0 {
		return wes.Errorf(wes.EINVALID, "job resources must not be negative (cpus %d, memory_mb %d, time_limit %s)", r.CPUs, r.MemoryMB, r.TimeLimit)
	}
	return nil
}

// Submit starts job under a detached shim, or returns the handle of the job already
// started for job.ID. Concurrent Submits of one id (from any process on this machine)
// start it once: they are serialised by a lock file, and a second lock held by the shim
// for its whole life shows whether a shim has ever been started.
//
// Submit returns as soon as the shim process exists and the handle naming it is on disk;
// it does not wait for the shim to start the job, so Status says queued until it has.
func (e *Executor) Submit(ctx context.Context, job *wes.Job) (wes.Handle, error) {
	if err := validateJob(job); err != nil {
		return wes.Handle{}, err
	}
	if err := e.checkShim(ctx); err != nil {
		return wes.Handle{}, err
	}
	dir := filepath.Join(e.cfg.StateDir, job.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return wes.Handle{}, wes.Internal(err, "could not prepare the job's state directory")
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, fileSubmitLock))
	if err != nil {
		return wes.Handle{}, err
	}
	defer unlock()

	var h handleData
	if ok, err := readJSON(filepath.Join(dir, fileHandle), &h); err != nil {
		return wes.Handle{}, wes.Internal(err, "could not read the job's handle")
	} else if ok {
		return encodeHandle(h)
	}
	if exists(filepath.Join(dir, fileShim)) {
		return e.adopt(ctx, dir) // an earlier Submit died after starting the shim
	}
	rl, err := os.OpenFile(filepath.Join(dir, fileRunLock), os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return wes.Handle{}, wes.Internal(err, "could not open the job's run lock")
	}
	defer rl.Close()
	err = unix.Flock(int(rl.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		// A shim from an earlier, interrupted Submit holds it and is starting up.
		rl.Close()
		return e.adopt(ctx, dir)
	}
	if err != nil {
		return wes.Handle{}, wes.Internal(err, "could not lock the job's run lock")
	}
	if exists(filepath.Join(dir, fileShim)) { // a shim started and ended since the check above
		return e.adopt(ctx, dir)
	}
	// No shim has ever run for this id, and none can start while we hold the run lock.
	plan, err := e.planFor()
	if err != nil {
		// EINVALID: the run fails at once, with this message in its system log.
		return wes.Handle{}, wes.Errorf(wes.EINVALID, "the local executor cannot confine jobs on this machine (%s), and executor.local.confinement is %s: "+
			"the job was not started; give the machine what it lacks or set executor.local.confinement to %s", err, ConfineRequired, ConfineBestEffort)
	}
	sp := spec{Job: *job, Shim: e.cfg.ShimCommand, Grace: e.cfg.Grace, Path: e.cfg.JobPath, Confine: plan}
	if err := writeJSONBootLocal(filepath.Join(dir, fileSpec), sp); err != nil {
		return wes.Handle{}, wes.Internal(err, "could not write the job's spec")
	}
	d, err := e.startShim(dir, rl)
	rl.Close() // the shim holds the lock now (or nobody does, if the start failed)
	if err != nil {
		return wes.Handle{}, err
	}
	// If this write fails (or this process dies before it), the shim still runs and
	// records itself in shim.json, which the next Submit adopts.
	if err := writeJSONAtomic(filepath.Join(dir, fileHandle), d); err != nil {
		return wes.Handle{}, wes.Internal(err, "could not record the job's handle")
	}
	e.log.Info("job submitted", "job_id", job.ID, "shim_pid", d.ShimPID)
	return encodeHandle(d)
}

// lockFile takes an exclusive flock on path, polling so that ctx can end the wait. The
// kernel drops the lock if this process dies, so a crashed Submit never blocks the next.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, wes.Internal(err, "could not open the job's submit lock")
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, wes.Internal(err, "could not lock the job's submit lock")
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			f.Close()
			return nil, &wes.Error{Code: wes.EUNAVAILABLE, Message: "another submission of this job is in progress; try again", Err: err}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
