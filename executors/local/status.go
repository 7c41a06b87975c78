package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spe4hd/enclave/pkg/wes"
)

// lostMessage is what Status says when the shim died without writing an exit status.
const lostMessage = "the job's supervisor process ended without recording an exit status"

// Status reports the job's state from its state directory: the exit record if the shim
// wrote one, else running while the shim lives, else lost.
func (e *Executor) Status(ctx context.Context, h wes.Handle) (wes.JobStatus, error) {
	d, err := decodeHandle(h)
	if err != nil {
		return wes.JobStatus{}, err
	}
	return status(d)
}

// StatusBatch reports the status of many jobs; each costs a few file reads.
func (e *Executor) StatusBatch(ctx context.Context, hs []wes.Handle) ([]wes.JobStatus, error) {
	out := make([]wes.JobStatus, len(hs))
	for i, h := range hs {
		if err := ctx.Err(); err != nil {
			return nil, &wes.Error{Code: wes.EUNAVAILABLE, Message: "status query interrupted", Err: err}
		}
		st, err := e.Status(ctx, h)
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

func status(d handleData) (wes.JobStatus, error) {
	if st, ok, err := readExit(d.StateDir); err != nil || ok {
		return st, err
	}
	if shimAlive(d) {
		var s startedRecord
		ok, err := readJSON(filepath.Join(d.StateDir, fileStarted), &s)
		if err != nil {
			return wes.JobStatus{}, wes.Internal(err, "could not read the job's start record")
		}
		if !ok {
			return wes.JobStatus{State: wes.JobQueued}, nil
		}
		return wes.JobStatus{State: wes.JobRunning, StartTime: s.StartTime}, nil
	}
	// The shim may have written its exit record and ended between the two checks.
	if st, ok, err := readExit(d.StateDir); err != nil || ok {
		return st, err
	}
	return wes.JobStatus{State: wes.JobLost, Message: lostMessage}, nil
}

func readExit(dir string) (wes.JobStatus, bool, error) {
	var r exitRecord
	ok, err := readJSON(filepath.Join(dir, fileExit), &r)
	if err != nil {
		return wes.JobStatus{}, false, wes.Internal(err, "could not read the job's exit record")
	}
	return r.status(), ok, nil
}

func shimAlive(d handleData) bool {
	if b, err := bootID(); err != nil || b != d.BootID {
		return false // the machine rebooted: nothing of the old boot runs
	}
	return alive(d.ShimPID, d.ShimStart)
}

// jobGroup returns the job's process group if its first process still runs (identified by
// its start time, so a reused pid is never signalled), or 0.
func jobGroup(d handleData) int {
	if b, err := bootID(); err != nil || b != d.BootID {
		return 0 // start ticks of another boot say nothing about this boot's processes
	}
	pgid, start := d.PGID, d.JobStart
	if pgid == 0 {
		var s startedRecord
		if ok, _ := readJSON(filepath.Join(d.StateDir, fileStarted), &s); ok {
			pgid, start = s.PGID, s.StartTicks
		}
	}
	if pgid <= 0 || !alive(pgid, start) {
		return 0
	}
	return pgid
}

// Cancel stops the job: it writes a cancel marker, which the shim sees within a tick and
// answers with SIGTERM to the job's process group, then SIGKILL after the grace period;
// the shim records the job as canceled. Cancel waits for that record, so it blocks for up
// to about Config.Grace (plus a few seconds of slack, after which it sends SIGKILL itself)
// or until ctx ends. Cancelling an ended job is a no-op. If the shim is gone (the job is
// lost), Cancel kills what is left of the job's process group and returns.
func (e *Executor) Cancel(ctx context.Context, h wes.Handle) error {
	d, err := decodeHandle(h)
	if err != nil {
		return err
	}
	st, err := status(d)
	if err != nil || st.State.Ended() {
		if err == nil && st.State == wes.JobLost {
			killGroup(jobGroup(d), unix.SIGKILL)
		}
		return err
	}
	if err := writeFileAtomic(filepath.Join(d.StateDir, fileCancel), []byte(time.Now().UTC().Format(time.RFC3339Nano)), true); err != nil {
		return wes.Internal(err, "could not record the cancel request")
	}
	e.log.Info("job cancel requested", "job_id", filepath.Base(d.StateDir))
	forceAt := time.Now().Add(e.cfg.Grace + 3*time.Second)
	giveUp := forceAt.Add(5 * time.Second)
	for {
		st, err := status(d)
		if err != nil {
			return err
		}
		if st.State.Ended() {
			if st.State == wes.JobLost {
				killGroup(jobGroup(d), unix.SIGKILL)
			}
			return nil
		}
		now := time.Now()
		if now.After(giveUp) {
			return wes.Internal(errors.New("no exit record after SIGKILL"), "the job did not stop after it was killed")
		}
		if now.After(forceAt) { // the shim should have done this by now
			killGroup(jobGroup(d), unix.SIGKILL)
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return &wes.Error{Code: wes.EUNAVAILABLE, Message: "cancel interrupted before the job stopped; it is still being stopped", Err: err}
		}
	}
}

// Cleanup removes the state directory of an ended job. A job that still runs is
// ECONFLICT: cancel it first. After Cleanup, Status reports the job as lost.
func (e *Executor) Cleanup(ctx context.Context, h wes.Handle) error {
	d, err := decodeHandle(h)
	if err != nil {
		return err
	}
	st, err := status(d)
	if err != nil {
		return err
	}
	if !st.State.Ended() {
		return wes.Errorf(wes.ECONFLICT, "the job is still %s; cancel it before cleaning up", st.State)
	}
	if filepath.Dir(d.StateDir) != e.cfg.StateDir {
		// Never remove a directory this executor does not own, whatever the handle says.
		return wes.Errorf(wes.EINVALID, "the handle's state directory is not under this executor's state directory")
	}
	if st.State == wes.JobLost {
		killGroup(jobGroup(d), unix.SIGKILL)
	}
	if err := os.RemoveAll(d.StateDir); err != nil {
		return wes.Internal(err, "could not remove the job's state directory")
	}
	return nil
}

func killGroup(pgid int, sig unix.Signal) {
	if pgid > 1 {
		_ = unix.Kill(-pgid, sig)
	}
}
