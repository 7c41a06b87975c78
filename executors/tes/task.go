package tes

import (
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	tesapi "github.com/spe4hd/enclave/api/tes"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Tags on every task the executor creates: the run id (how a repeated Submit finds its
// task) and the marker StatusBatch lists by.
const (
	TagRunID     = "enclave_run_id"
	TagManagedBy = "managed_by"
	ManagedBy    = "enclave"
)

// Container paths of the executor's own files, and the directory inside the work dir the
// TES server copies the task's outputs back to.
const (
	inDir     = "/.enclave-tes/in"
	stdoutIn  = "/.enclave-tes/log/stdout"
	stderrIn  = "/.enclave-tes/log/stderr"
	stageName = ".enclave-tes"
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validate checks job for what the TES task needs; messages name the field, never a path.
func (e *Executor) validate(job *wes.Job) error {
	if err := job.Validate(); err != nil {
		return err
	}
	switch {
	case job.ImageOr(e.cfg.Image) == "":
		return wes.Errorf(wes.EINVALID, "job image is empty and the tes executor has no default image (executor.tes.image)")
	case strings.ContainsFunc(job.ImageOr(e.cfg.Image), isSpaceOrControl):
		return wes.Errorf(wes.EINVALID, "job image %q must not contain white space", job.ImageOr(e.cfg.Image))
	}
	work := filepath.Clean(job.WorkDir)
	if err := e.checkShared(work, "job work_dir"); err != nil {
		return err
	}
	if work == "/.enclave-tes" || strings.HasPrefix(work, "/.enclave-tes/") {
		return wes.Errorf(wes.EINVALID, "job work_dir must not be under /.enclave-tes, the executor's own container path")
	}
	if fi, err := os.Stat(work); err != nil || !fi.IsDir() {
		return wes.Errorf(wes.EINVALID, "the job's work directory does not exist")
	}
	for k, v := range job.Env {
		if !envName.MatchString(k) {
			return wes.Errorf(wes.EINVALID, "job env name %q is not a valid variable name", k)
		}
		// TES servers that template a `docker run` command line (Funnel) split it at white
		// space: a value with a space would become an extra docker argument.
		if strings.ContainsFunc(v, isSpaceOrControl) {
			return wes.Errorf(wes.EINVALID, "job env %s: the value must not contain white space or control characters for a TES server", k)
		}
	}
	for i, d := range job.Datasets {
		if !filepath.IsAbs(d.Path) {
			return wes.Errorf(wes.EINVALID, "dataset %q (datasets[%d]) has no absolute path", d.ID, i)
		}
		if err := e.checkShared(filepath.Clean(d.Path), fmt.Sprintf("dataset %q", d.ID)); err != nil {
			return err
		}
		if _, err := os.Stat(d.Path); err != nil {
			return wes.Errorf(wes.EINVALID, "dataset %q is not available in the zone", d.ID)
		}
	}
	return nil
}

// checkShared refuses a path the TES server may not be handed.
func (e *Executor) checkShared(p, field string) error {
	if !safePath.MatchString(p) {
		return wes.Errorf(wes.EINVALID, "%s: its path may only contain letters, digits and ._+@=,~- for a TES server", field)
	}
	if !allowed(p, e.cfg.AllowedDirs) {
		return wes.Errorf(wes.EINVALID, "%s is outside the directories shared with the TES server (executor.tes.allowed_dirs)", field)
	}
	return nil
}

// fileURL is the file:// URL of a clean absolute path. No escaping: safePath allows none
// of the characters that need it, and Funnel does not unescape.
func fileURL(p string) string { return "file://" + p }

// buildTask is the TES task for a validated job.
//
// The work dir comes in read-only (Funnel mounts inputs read-only) at inDir, and a first
// executor copies it to job.WorkDir inside the container, which is writable and the job's
// working directory: paths in argv stay valid. When the task completes, the TES server
// copies job.WorkDir and the job's stdout and stderr to <work dir>/.enclave-tes, from where
// the executor moves them into place (see deliver.go). Datasets come in read-only at
// their own paths.
func (e *Executor) buildTask(job *wes.Job) tesapi.TesTask {
	work := filepath.Clean(job.WorkDir)
	stage := path.Join(work, stageName)
	stageImage := e.cfg.StageImage
	if stageImage == "" {
		stageImage = job.ImageOr(e.cfg.Image)
	}
	t := tesapi.TesTask{
		Name:        job.ID,
		Description: "Enclave run " + job.ID,
		Tags:        map[string]string{TagRunID: job.ID, TagManagedBy: ManagedBy},
		Executors: []tesapi.TesExecutor{
			// cp -R -p: recursive, keeping modes and times (workflow engines compare mtimes).
			{Image: stageImage, Command: []string{"cp", "-R", "-p", inDir + "/.", work}},
			{Image: job.ImageOr(e.cfg.Image), Command: slices.Clone(job.Argv), Workdir: work, Env: maps.Clone(job.Env),
				Stdout: stdoutIn, Stderr: stderrIn},
		},
		Inputs: []tesapi.TesInput{{Name: "workdir", Type: tesapi.TesFileTypeDIRECTORY, Url: fileURL(work), Path: inDir}},
		Outputs: []tesapi.TesOutput{
			{Name: "workdir", Type: tesapi.TesFileTypeDIRECTORY, Path: work, Url: fileURL(path.Join(stage, "work"))},
			{Name: "stdout", Type: tesapi.TesFileTypeFILE, Path: stdoutIn, Url: fileURL(path.Join(stage, "stdout"))},
			{Name: "stderr", Type: tesapi.TesFileTypeFILE, Path: stderrIn, Url: fileURL(path.Join(stage, "stderr"))},
		},
	}
	for _, d := range job.Datasets {
		p := filepath.Clean(d.Path)
		typ := tesapi.TesFileTypeFILE
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			typ = tesapi.TesFileTypeDIRECTORY
		}
		t.Inputs = append(t.Inputs, tesapi.TesInput{Name: "dataset:" + d.ID, Type: typ, Url: fileURL(p), Path: p})
	}
	r := &t.Resources
	if job.Resources.CPUs > 0 {
		r.CpuCores = int32(job.Resources.CPUs)
	}
	if job.Resources.MemoryMB > 0 {
		r.RamGb = float64(job.Resources.MemoryMB) / 1024
	}
	for _, name := range e.cfg.BackendParameters {
		if v, ok := job.Params[name]; ok {
			if r.BackendParameters == nil {
				r.BackendParameters = map[string]string{}
			}
			r.BackendParameters[name] = v
		}
	}
	return t
}
