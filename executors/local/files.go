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
	fileSpec       = "job.json"     // what to run (written by Submit before it starts the shim)
	fileShim       = "shim.json"    // the shim's identity (written by the shim before the job starts)
	fileStarted    = "started.json" // the job's process (written by the shim before the job's first instruction)
	fileExit       = "exit.json"    // how the job ended (written by the shim)
	fileHandle     = "handle.json"  // the handle Submit returned (written once the shim exists), for re-Submits
	fileCancel     = "cancel"       // marker: cancellation was requested
	fileShimLog    = "shim.log"     // the shim's own diagnostics (never the job's output)
)

// writeJSONAtomic writes v as JSON to path so that readers never see a partial file, and
// makes it durable (fsync) before it returns.
func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, true)
}

// writeJSONBootLocal is writeJSONAtomic without the fsync, for records that matter only
// until the machine restarts (job.json, started.json): after a crash of the machine the
// shim that reads them is gone, and no decision depends on them. Records that must
// survive one (shim.json, handle.json, exit.json) are written with writeJSONAtomic, as
// exactly-once and the final status depend on them.
func writeJSONBootLocal(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, false)
}

func writeFileAtomic(path string, b []byte, durable bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil && durable {
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
