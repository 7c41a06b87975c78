package wes

import (
	"path/filepath"
	"regexp"
	"strings"
)

// jobIDPattern is what a job id may look like: it names a directory, a SLURM job, a
// Kubernetes object and a container, so it is one path component that no command
// line reads as an option.
var jobIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidJobID reports whether id may be a job's id (see Job.Validate).
func ValidJobID(id string) bool { return jobIDPattern.MatchString(id) }

// Validate makes the checks every executor makes of a job before it builds anything for
// its backend: an id that is one safe path component, a command without NUL bytes,
// environment variable names without '=' or NUL, absolute work_dir, stdout and stderr,
// and resources that are not negative. Executors add their own checks (a work dir that
// exists, a path under a root). The error is EINVALID, names the field (job.id,
// job.argv[2], ...) and never carries a path.
func (j *Job) Validate() error {
	if j == nil {
		return Errorf(EINVALID, "no job given")
	}
	if !ValidJobID(j.ID) {
		return Errorf(EINVALID, "job.id must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if len(j.Argv) == 0 || j.Argv[0] == "" {
		return Errorf(EINVALID, "job.argv is empty: give the command to run")
	}
	for i, a := range j.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return Errorf(EINVALID, "job.argv[%d] contains a NUL byte", i)
		}
	}
	for k, v := range j.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return Errorf(EINVALID, "job.env: %q is not a valid variable name (non-empty, without '=' or NUL)", k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return Errorf(EINVALID, "job.env[%s] contains a NUL byte", k)
		}
	}
	if !filepath.IsAbs(j.WorkDir) {
		return Errorf(EINVALID, "job.work_dir must be an absolute path")
	}
	if !filepath.IsAbs(j.Stdout) || !filepath.IsAbs(j.Stderr) {
		return Errorf(EINVALID, "job.stdout and job.stderr must be absolute paths")
	}
	if r := j.Resources; r.CPUs < 0 || r.MemoryMB < 0 || r.TimeLimit < 0 {
		return Errorf(EINVALID, "job.resources: cpus, memory_mb and time_limit must not be negative")
	}
	return nil
}
