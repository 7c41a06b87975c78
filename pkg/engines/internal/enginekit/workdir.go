package enginekit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// StateDir is the directory, relative to the work dir, where Enclave keeps the files it
// writes for the engine. Its name starts with a dot and is not a plausible workflow
// output, and output listings skip it.
const StateDir = ".enclave"

// ParamsFile is the workflow_params file, relative to the work dir.
var ParamsFile = filepath.Join(StateDir, "params.json")

// inputsFile lists the files present before the run (attachments, workflow files).
var inputsFile = filepath.Join(StateDir, "inputs.json")

// MaxParamsBytes bounds workflow_params; the API limits request bodies long before this.
const MaxParamsBytes = 16 << 20

// CheckWorkflowPath checks that rel names a regular file inside workDir, without ".."
// or a symlink in the way. The message names workflow_url, the field it came from.
func CheckWorkflowPath(workDir, rel string) error {
	if rel == "" || !filepath.IsLocal(rel) {
		return wes.Errorf(wes.EINVALID, "workflow_url must name a workflow file inside the run (a relative path without ..)")
	}
	// Walk each component with Lstat so a symlinked directory cannot lead outside.
	p := workDir
	parts := strings.Split(filepath.Clean(rel), string(filepath.Separator))
	for i, part := range parts {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return wes.Errorf(wes.EINVALID, "workflow_url %q names no file of the run", rel)
		}
		if err != nil {
			return wes.Internal(err, "cannot read the workflow file")
		}
		last := i == len(parts)-1
		if (last && !fi.Mode().IsRegular()) || (!last && !fi.IsDir()) {
			return wes.Errorf(wes.EINVALID, "workflow_url %q must be a regular file (no symlinks)", rel)
		}
	}
	return nil
}

// ParamsObject returns raw as a JSON object: "{}" for empty input, EINVALID (naming
// workflow_params) for anything but an object.
func ParamsObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	if len(raw) > MaxParamsBytes {
		return nil, wes.Errorf(wes.EINVALID, "workflow_params is larger than %d MiB", MaxParamsBytes>>20)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, wes.Errorf(wes.EINVALID, "workflow_params must be a JSON object")
	}
	return obj, nil
}

// WriteParams writes obj as JSON to ParamsFile under workDir (replacing an earlier one,
// so a retried Prepare is harmless) and returns its path relative to workDir.
func WriteParams(workDir string, obj map[string]json.RawMessage) (string, error) {
	data, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return "", wes.Internal(err, "cannot encode workflow_params")
	}
	if err := writeState(workDir, ParamsFile, data); err != nil {
		return "", err
	}
	return ParamsFile, nil
}

// WriteStateFile writes data to rel (a path inside StateDir) under workDir.
func WriteStateFile(workDir, rel string, data []byte) error {
	return writeState(workDir, rel, data)
}

// CheckStateDir refuses a work dir whose StateDir is anything but a directory of
// directories and regular files: an attachment must not plant a symlink there that would
// lead the engine's params, temp files or task work outside the run.
func CheckStateDir(workDir string) error {
	root := filepath.Join(workDir, StateDir)
	reserved := wes.Errorf(wes.EINVALID, "attachments must not contain links or special files under %s: the name is reserved for Enclave", StateDir)
	fi, err := os.Lstat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return wes.Internal(err, "cannot check the engine's state directory")
	}
	if !fi.IsDir() {
		return reserved
	}
	err = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return reserved
		}
		return nil
	})
	if errors.Is(err, reserved) {
		return reserved
	}
	if err != nil {
		return wes.Internal(err, "cannot check the engine's state directory")
	}
	return nil
}

func writeState(workDir, rel string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(filepath.Join(workDir, rel)), 0o755); err != nil {
		return wes.Internal(err, "cannot create the engine's state directory")
	}
	p := filepath.Join(workDir, rel)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return wes.Internal(err, "cannot write %s", rel)
	}
	if err := os.Rename(tmp, p); err != nil {
		return wes.Internal(err, "cannot write %s", rel)
	}
	return nil
}

// RecordInputs lists the files present in workDir before the run (attachments and
// workflow files) into the input manifest, so NewFiles can tell outputs from inputs. An
// existing manifest is kept: a Prepare retried after the job started must not count the
// job's first outputs as inputs. (A forged manifest could only hide outputs.)
func RecordInputs(workDir string) error {
	if _, err := os.Lstat(filepath.Join(workDir, inputsFile)); err == nil {
		return nil
	}
	var names []string
	err := walkFiles(workDir, nil, func(rel string, _ fs.FileInfo) error {
		names = append(names, rel)
		return nil
	})
	if err != nil {
		return wes.Internal(err, "cannot list the run's files")
	}
	data, err := json.Marshal(names)
	if err != nil {
		return wes.Internal(err, "cannot encode the input manifest")
	}
	return writeState(workDir, inputsFile, data)
}

// NewFiles returns the regular files under workDir that the run created: everything but
// StateDir, the directories in skip (relative, e.g. ".snakemake"), the files whose names
// are in skipFiles and the files RecordInputs saw. Symlinks are never listed. The
// result maps each slash-separated relative path to {"path": rel, "size": bytes}; at most
// limit files are listed (the rest are left out, and truncated is true).
func NewFiles(workDir string, skipDirs, skipFiles []string, limit int) (out map[string]any, truncated bool, err error) {
	inputs := map[string]bool{}
	if data, err := os.ReadFile(filepath.Join(workDir, inputsFile)); err == nil {
		var names []string
		if err := json.Unmarshal(data, &names); err != nil {
			return nil, false, wes.Internal(err, "cannot read the input manifest")
		}
		for _, n := range names {
			inputs[n] = true
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, wes.Internal(err, "cannot read the input manifest")
	}
	skipped := map[string]bool{}
	for _, f := range skipFiles {
		skipped[f] = true
	}
	out = map[string]any{}
	errLimit := errors.New("limit")
	err = walkFiles(workDir, skipDirs, func(rel string, fi fs.FileInfo) error {
		if inputs[rel] || skipped[rel] {
			return nil
		}
		if len(out) >= limit {
			truncated = true
			return errLimit
		}
		out[rel] = map[string]any{"path": rel, "size": fi.Size()}
		return nil
	})
	if err != nil && !errors.Is(err, errLimit) {
		return nil, false, wes.Internal(err, "cannot list the run's outputs")
	}
	return out, truncated, nil
}

// walkFiles calls fn for every regular file under root with its slash-separated path,
// skipping StateDir and skipDirs; it never follows symlinks.
func walkFiles(root string, skipDirs []string, fn func(rel string, fi fs.FileInfo) error) error {
	skip := map[string]bool{StateDir: true}
	for _, d := range skipDirs {
		skip[d] = true
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if skip[rel] {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", rel, err)
		}
		return fn(rel, fi)
	})
}
