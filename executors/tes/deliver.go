package tes

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	tesapi "github.com/spe4hd/enclave/api/tes"
	"github.com/spe4hd/enclave/pkg/wes"
)

// deliver puts an ended job's results where the job expects them. It is idempotent, so
// whichever Status (of any instance) first sees the end does it, and a crash half-way is
// finished by the next one.
//
// A completed task's TES server has copied the container's work dir and the job's stdout
// and stderr to <work dir>/.enclave-tes: deliver moves those files into the work dir and
// to job.Stdout and job.Stderr, then removes the staging dir. Moving (not letting the
// server write into the work dir directly) matters: Funnel's file:// upload writes over
// an existing file without truncating it, which would corrupt a file the job shortened.
// Files the job deleted stay in the work dir: only what the task produced is copied back.
//
// A task that did not complete uploads nothing (TES servers upload outputs only after
// every executor succeeded; Funnel also leaves partial uploads of a system error). Its
// stdout and stderr are taken from the task's executor log (view FULL), which holds what
// the server keeps: for Funnel the last Worker.LogTailSize bytes (10 KB by default). The
// work dir then keeps its state from before the job.
func (e *Executor) deliver(ctx context.Context, d handleData, js wes.JobStatus) error {
	defer e.locks.Lock("deliver " + d.JobID)()
	stage := filepath.Join(d.WorkDir, stageName)
	if _, err := os.Lstat(stage); err == nil {
		if js.State == wes.JobSucceeded {
			if err := e.merge(d, stage); err != nil {
				return err
			}
		}
		if err := os.RemoveAll(stage); err != nil {
			return wes.Internal(err, "could not remove the job's staging directory")
		}
	}
	needOut, needErr := needLog(d.Stdout, js), needLog(d.Stderr, js)
	if !needOut && !needErr {
		return nil
	}
	t, err := e.getTask(ctx, d.TaskID, tesapi.GetTaskParamsViewFULL)
	if errors.Is(err, errNotFound) {
		return nil // nothing left to deliver
	}
	if err != nil {
		return err
	}
	jl := jobLog(t)
	if needOut {
		if err := writeFile(d.Stdout, jl.Stdout); err != nil {
			return err
		}
	}
	if needErr {
		if err := writeFile(d.Stderr, jl.Stderr); err != nil {
			return err
		}
	}
	return nil
}

// needLog reports whether a log file must be written from the task's log: it is missing,
// or (for a job that did not succeed) older than the job's end.
func needLog(p string, js wes.JobStatus) bool {
	fi, err := os.Stat(p)
	if err != nil {
		return true
	}
	if js.State == wes.JobSucceeded {
		return false
	}
	return js.EndTime.IsZero() || !fi.ModTime().After(js.EndTime)
}

// jobLog is the job's executor log of the task's latest attempt (empty if none).
func jobLog(t *tesapi.TesTask) tesapi.TesExecutorLog {
	if len(t.Logs) == 0 {
		return tesapi.TesExecutorLog{}
	}
	tl := t.Logs[len(t.Logs)-1]
	i := len(t.Executors) - 1
	if i < 0 || i >= len(tl.Logs) {
		return tesapi.TesExecutorLog{}
	}
	return tl.Logs[i]
}

// merge moves the staged stdout, stderr and work dir into place.
func (e *Executor) merge(d handleData, stage string) error {
	for _, f := range []struct{ from, to string }{
		{filepath.Join(stage, "stdout"), d.Stdout}, {filepath.Join(stage, "stderr"), d.Stderr},
	} {
		if err := moveFile(f.from, f.to); err != nil {
			return wes.Internal(err, "could not deliver the job's logs")
		}
	}
	if err := mergeTree(filepath.Join(stage, "work"), d.WorkDir); err != nil {
		return wes.Internal(err, "could not move the job's files into its work directory")
	}
	return nil
}

// mergeTree moves the regular files of src into the same places under dst, replacing what
// is there and creating directories as needed. A directory in dst is always a real one
// (a symlink or file in its way is removed first), so nothing lands outside dst. Other
// kinds of files (symlinks, devices) are not moved. Files that vanish meanwhile were moved
// by a concurrent merge and are skipped.
func mergeTree(src, dst string) error {
	err := filepath.WalkDir(src, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, lerr := os.Lstat(target)
		switch {
		case de.IsDir():
			if lerr == nil && fi.IsDir() {
				return nil
			}
			if lerr == nil {
				if err := os.RemoveAll(target); err != nil {
					return err
				}
			}
			if err := os.Mkdir(target, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case de.Type().IsRegular():
			if lerr == nil && fi.IsDir() {
				if err := os.RemoveAll(target); err != nil {
					return err
				}
			}
			if err := os.Rename(p, target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// moveFile renames from to to (creating to's directory), copying when they are on
// different file systems. A missing from is not an error: there is nothing to move.
func moveFile(from, to string) error {
	if _, err := os.Lstat(from); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	if err := os.Rename(from, to); err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeAtomic(to, in)
}

// writeFile writes content to path atomically, creating its directory.
func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return wes.Internal(err, "could not create the job's log directory")
	}
	if err := writeAtomic(path, strings.NewReader(content)); err != nil {
		return wes.Internal(err, "could not write the job's logs")
	}
	return nil
}

func writeAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
