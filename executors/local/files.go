package local

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Files in a job's state directory (Config.StateDir/<job id>/). Each record is written
// once, atomically (temporary file + rename), so a reader sees all of it or nothing.
const (
	fileSubmitLock = "submit.lock"  // flock: serialises Submits of one job id
	fileRunLock    = "run.lock"     // flock: held by the shim for its whole life
	fileSpec       = "job.json"     // what to run (written by Submit)
	fileShim       = "shim.json"    // the shim's identity (written by the shim before the job starts)
	fileStarted    = "started.json" // the job's process (written by the shim after it started)
	fileExit       = "exit.json"    // how the job ended (written by the shim)
	fileHandle     = "handle.json"  // the handle Submit returned, for idempotent re-Submits
	fileCancel     = "cancel"       // marker: cancellation was requested
	fileShimLog    = "shim.log"     // the shim's own diagnostics (never the job's output)
)

// writeJSONAtomic writes v as JSON to path so that readers never see a partial file.
func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// readJSON reads path into v. ok is false, with a nil error, when the file does not exist.
func readJSON(path string, v any) (ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, err
	}
	return true, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
