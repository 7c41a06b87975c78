package fake

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spe4hd/enclave/pkg/wes"
)

// record is one job's state file, Dir/<id>.json.
type record struct {
	ID        string         `json:"id"`
	WorkDir   string         `json:"work_dir"`
	Script    script         `json:"script"`
	Submitted time.Time      `json:"submitted"`
	Final     *wes.JobStatus `json:"final,omitempty"` // set once the job has ended
}

// status computes the job's state at now; final reports that it has ended.
func (r *record) status(now time.Time) (wes.JobStatus, bool) {
	if r.Final != nil {
		return *r.Final, true
	}
	s := r.Script
	start := r.Submitted.Add(s.Queued)
	if now.Before(start) {
		return wes.JobStatus{State: wes.JobQueued}, false
	}
	end := start.Add(s.Sleep)
	released := s.WaitFor == "" || exists(filepath.Join(r.WorkDir, s.WaitFor))
	if now.Before(end) || !released {
		return wes.JobStatus{State: wes.JobRunning, StartTime: start}, false
	}
	if s.WaitFor != "" {
		end = now
	}
	st := wes.JobStatus{StartTime: start, EndTime: end}
	switch {
	case s.Lost:
		st.State, st.Message = wes.JobLost, "fake executor: the job was lost, as scripted"
	case s.Exit == 0:
		st.State = wes.JobSucceeded
	default:
		st.State = wes.JobFailed
	}
	if !s.Lost {
		code := s.Exit
		st.ExitCode = &code
	}
	return st, true
}

func (e *Executor) path(id string) string { return filepath.Join(e.cfg.Dir, id+".json") }

// create writes r unless a record for its id exists; created reports which.
// The record is written to a temporary file and hard-linked into place: link fails if
// the name exists, so exactly one of several concurrent Submits creates it.
func (e *Executor) create(r record) (created bool, err error) {
	b, err := json.Marshal(r)
	if err != nil {
		return false, wes.Internal(err, "fake executor: encoding the job record")
	}
	tmp, err := writeTemp(e.cfg.Dir, b)
	if err != nil {
		return false, wes.Internal(err, "fake executor: writing the job record")
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, e.path(r.ID))
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, wes.Internal(err, "fake executor: writing the job record")
	}
	return true, nil
}

// errNoRecord: the job was never submitted here, or was cleaned up.
var errNoRecord = errors.New("no such job record")

// update runs fn on the job's record under a lock; if fn returns true, the record is
// written back.
func (e *Executor) update(id string, fn func(*record) (bool, error)) error {
	lock, err := os.OpenFile(filepath.Join(e.cfg.Dir, id+".lock"), os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return wes.Internal(err, "fake executor: opening the job lock")
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return wes.Internal(err, "fake executor: locking the job")
	}
	b, err := os.ReadFile(e.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return errNoRecord
	}
	if err != nil {
		return wes.Internal(err, "fake executor: reading the job record")
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return wes.Internal(err, "fake executor: decoding the job record")
	}
	changed, err := fn(&r)
	if err != nil || !changed {
		return err
	}
	if b, err = json.Marshal(r); err != nil {
		return wes.Internal(err, "fake executor: encoding the job record")
	}
	tmp, err := writeTemp(e.cfg.Dir, b)
	if err == nil {
		err = os.Rename(tmp, e.path(id))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return wes.Internal(err, "fake executor: writing the job record")
	}
	return nil
}

func writeTemp(dir string, b []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
