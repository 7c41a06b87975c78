package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spe4hd/enclave/pkg/wes"
)

// startTimeout bounds how long Submit waits for the shim to start the job.
const startTimeout = 30 * time.Second

// pollInterval is how often the executor re-checks files while it waits.
const pollInterval = 20 * time.Millisecond

// validateJob adds to Job.Validate the check that the work dir is there: the shim
// starts the job in it.
func validateJob(job *wes.Job) error {
	if err := job.Validate(); err != nil {
		return err
	}
	if fi, err := os.Stat(job.WorkDir); err != nil || !fi.IsDir() {
		return wes.Errorf(wes.EINVALID, "job work_dir does not exist or is not a directory")
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
