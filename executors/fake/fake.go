// Package fake is a scriptable executor for tests of the runner and the API. A job's argv
// says what happens, nothing runs:
//
//	["fake", "queued=1s", "sleep=2s", "exit=3"]   queued 1s, running 2s, then failed with exit code 3
//	["fake", "wait-for=release"]                  running until WorkDir/release exists
//	["fake", "lost"]                              ends as JobLost instead of exiting
//	["fake", "stdout=hello", "append=runs.txt"]   at submit: write "hello\n" to job.Stdout, append "ran\n" to WorkDir/runs.txt
//	["fake", "submit-error=unavailable"]          Submit fails with that wes error code
//	["fake", "status-error=unavailable"]          Status fails with it; likewise cancel-error=
//
// Its state lives in files under Config.Dir, one per job id, so a fresh instance takes a
// job over from its handle, and Submit is idempotent per id across instances.
package fake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spe4hd/enclave/executors/internal/defaults"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Name is the fake executor's registry name.
const Name = "fake"

// Config configures the fake executor.
type Config struct {
	// Dir holds one state file per job. Required, absolute; created if missing.
	Dir string
	// Now is the clock that queued= and sleep= are measured against. Default: time.Now.
	Now func() time.Time
	// Logger receives the executor's logs. Default: discard.
	Logger *slog.Logger
}

// Executor is the fake executor.
type Executor struct {
	cfg Config
	log *slog.Logger
}

// New validates cfg and returns the executor.
func New(cfg Config) (*Executor, error) {
	if cfg.Dir == "" || !filepath.IsAbs(cfg.Dir) {
		return nil, fmt.Errorf("fake executor: Dir %q must be an absolute path", cfg.Dir)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("fake executor: Dir: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	defaults.Logger(&cfg.Logger)
	return &Executor{cfg: cfg, log: cfg.Logger.With("executor", Name)}, nil
}

// Name returns "fake".
func (e *Executor) Name() string { return Name }

// Submit records the job, or returns the handle of the one already recorded for its id.
func (e *Executor) Submit(ctx context.Context, job *wes.Job) (wes.Handle, error) {
	if err := job.Validate(); err != nil {
		return wes.Handle{}, err
	}
	s, err := parseArgv(job.Argv)
	if err != nil {
		return wes.Handle{}, err
	}
	if fi, err := os.Stat(job.WorkDir); err != nil || !fi.IsDir() {
		return wes.Handle{}, wes.Errorf(wes.EINVALID, "job work_dir does not exist or is not a directory")
	}
	if s.submitError != "" {
		return wes.Handle{}, scripted(s.submitError, "submit")
	}
	h := handle(job.ID)
	r := record{ID: job.ID, WorkDir: job.WorkDir, Script: s, Submitted: e.cfg.Now()}
	created, err := e.create(r)
	if err != nil || !created {
		return h, err
	}
	if s.Append != "" {
		if err := appendLine(filepath.Join(job.WorkDir, s.Append), "ran"); err != nil {
			return wes.Handle{}, wes.Internal(err, "fake executor: could not append to the job's file")
		}
	}
	if s.Stdout != "" && job.Stdout != "" {
		if err := appendLine(job.Stdout, s.Stdout); err != nil {
			return wes.Handle{}, wes.Internal(err, "fake executor: could not write the job's stdout")
		}
	}
	e.log.Info("job submitted", "job_id", job.ID)
	return h, nil
}

// Status reports the job's scripted state; the first time it sees the job ended, it
// records that, so the final status never changes again.
func (e *Executor) Status(ctx context.Context, h wes.Handle) (wes.JobStatus, error) {
	id, err := decode(h)
	if err != nil {
		return wes.JobStatus{}, err
	}
	var st wes.JobStatus
	err = e.update(id, func(r *record) (bool, error) {
		if r.Script.StatusError != "" {
			return false, scripted(r.Script.StatusError, "status")
		}
		var final bool
		st, final = r.status(e.cfg.Now())
		if final && r.Final == nil {
			r.Final = &st
			return true, nil
		}
		return false, nil
	})
	if errors.Is(err, errNoRecord) {
		return wes.JobStatus{State: wes.JobLost, Message: "the fake executor has no record of the job"}, nil
	}
	return st, err
}

// StatusBatch is Status for each handle.
func (e *Executor) StatusBatch(ctx context.Context, hs []wes.Handle) ([]wes.JobStatus, error) {
	out := make([]wes.JobStatus, len(hs))
	for i, h := range hs {
		st, err := e.Status(ctx, h)
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// Cancel ends a queued or running job as JobCanceled at once; an ended job is left as is.
func (e *Executor) Cancel(ctx context.Context, h wes.Handle) error {
	id, err := decode(h)
	if err != nil {
		return err
	}
	return ignoreMissing(e.update(id, func(r *record) (bool, error) {
		if r.Script.CancelError != "" {
			return false, scripted(r.Script.CancelError, "cancel")
		}
		now := e.cfg.Now()
		st, final := r.status(now)
		if final {
			return false, nil
		}
		r.Final = &wes.JobStatus{State: wes.JobCanceled, StartTime: st.StartTime, EndTime: now, Message: "canceled on request"}
		return true, nil
	}))
}

// Cleanup forgets an ended job; a job that has not ended is ECONFLICT.
func (e *Executor) Cleanup(ctx context.Context, h wes.Handle) error {
	id, err := decode(h)
	if err != nil {
		return err
	}
	return ignoreMissing(e.update(id, func(r *record) (bool, error) {
		if st, final := r.status(e.cfg.Now()); !final {
			return false, wes.Errorf(wes.ECONFLICT, "the job is still %s; cancel it before cleaning up", st.State)
		}
		if err := os.Remove(e.path(id)); err != nil {
			return false, wes.Internal(err, "fake executor: could not remove the job record")
		}
		return false, nil
	}))
}

// ignoreMissing makes Cancel and Cleanup of a job the fake no longer knows a no-op.
func ignoreMissing(err error) error {
	if errors.Is(err, errNoRecord) {
		return nil
	}
	return err
}

const handleVersion = 1

type handleData struct {
	ID string `json:"id"`
}

// Valid reports whether d names a job id (wes.HandleData).
func (d *handleData) Valid() bool { return wes.ValidJobID(d.ID) }

func handle(id string) wes.Handle {
	h, _ := wes.EncodeHandle(Name, handleVersion, handleData{ID: id}) // a struct of one string always encodes
	return h
}

func decode(h wes.Handle) (string, error) {
	var d handleData
	err := wes.DecodeHandle(h, Name, handleVersion, &d)
	return d.ID, err
}

func appendLine(path, line string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
