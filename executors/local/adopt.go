package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/spe4hd/enclave/pkg/wes"
)

// adopt is Submit's recovery path, taken when an earlier Submit of the job started a
// shim but died (or failed) before it wrote the handle. It waits until that shim has
// recorded its identity in shim.json (or has died without doing so), then writes and
// returns the handle. It polls: it only runs after a crash, never on the fast path.
func (e *Executor) adopt(parent context.Context, dir string) (h wes.Handle, err error) {
	ctx, cancel := context.WithTimeout(parent, startTimeout)
	defer cancel()
	defer func() {
		if err != nil && parent.Err() != nil {
			// The caller gave up, not the shim: a later Submit attaches to the job.
			err = &wes.Error{Code: wes.EUNAVAILABLE, Message: "submission interrupted while the job was starting; submit again", Err: err}
		}
	}()
	var sh shimRecord
	for {
		ok, err := readJSON(filepath.Join(dir, fileShim), &sh)
		if err != nil {
			return wes.Handle{}, wes.Internal(err, "could not read the job's supervisor record")
		}
		if ok {
			break
		}
		if runLockFree(dir) && !exists(filepath.Join(dir, fileShim)) {
			// Nobody holds the run lock and the shim never said hello: it died early,
			// before it could have started the job.
			log, _ := os.ReadFile(filepath.Join(dir, fileShimLog))
			return wes.Handle{}, wes.Internal(fmt.Errorf("shim exited early: %s", clip(string(bytes.TrimSpace(log)))),
				"the job's supervisor process exited before it started the job")
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return wes.Handle{}, wes.Internal(err, "the job's supervisor process did not start")
		}
	}
	d := handleData{StateDir: dir, BootID: sh.BootID, ShimPID: sh.PID, ShimStart: sh.Start}
	if err := writeJSONAtomic(filepath.Join(dir, fileHandle), d); err != nil {
		return wes.Handle{}, wes.Internal(err, "could not record the job's handle")
	}
	e.log.Info("job adopted from an interrupted submission", "job_id", filepath.Base(dir), "shim_pid", d.ShimPID)
	return encodeHandle(d)
}

// runLockFree reports whether no process holds dir's run lock, i.e. no shim runs.
// Only called under the submit lock, so the probe cannot race another Submit.
func runLockFree(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, fileRunLock), os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
}
