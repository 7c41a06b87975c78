// Package jobcheck holds the checks of a wes.Job that every backend executor makes before
// it builds anything for its backend.
package jobcheck

import (
	"path/filepath"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Basic checks that job has an id and a command, and that its work dir, stdout and
// stderr are absolute paths. Messages name the field, never a path: EINVALID.
func Basic(job *wes.Job) error {
	switch {
	case job == nil:
		return wes.Errorf(wes.EINVALID, "no job given")
	case job.ID == "":
		return wes.Errorf(wes.EINVALID, "job id is empty")
	case len(job.Argv) == 0 || job.Argv[0] == "":
		return wes.Errorf(wes.EINVALID, "job argv is empty: name the command to run")
	case job.WorkDir == "" || !filepath.IsAbs(job.WorkDir):
		return wes.Errorf(wes.EINVALID, "job work_dir must be an absolute path")
	case job.Stdout == "" || job.Stderr == "" || !filepath.IsAbs(job.Stdout) || !filepath.IsAbs(job.Stderr):
		return wes.Errorf(wes.EINVALID, "job stdout and stderr must be absolute paths")
	}
	return nil
}
