package kubernetes

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Submit creates the run's Job, or returns the handle of the Job a previous Submit of the
// same id created: the Job's name is derived from the id, and the API server creates a
// name once, so concurrent Submits of one id (in any number of workers) start one job.
func (e *Executor) Submit(ctx context.Context, job *wes.Job) (wes.Handle, error) {
	m, err := e.validate(job)
	if err != nil {
		return wes.Handle{}, err
	}
	spec := e.jobSpec(job, m)
	jobs := e.cs.BatchV1().Jobs(e.cfg.Namespace)
	created, err := jobs.Create(ctx, spec, metav1.CreateOptions{FieldManager: "enclave"})
	switch {
	case apierrors.IsAlreadyExists(err):
		created, err = jobs.Get(ctx, spec.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			// Deleted between our Create and Get (a Cleanup racing a re-Submit).
			return wes.Handle{}, wes.Errorf(wes.EUNAVAILABLE, "the run's Kubernetes Job was being deleted; try again")
		}
		if err != nil {
			return wes.Handle{}, e.apiError(err, "read the run's Job")
		}
		if created.Annotations[AnnotationRunID] != job.ID {
			return wes.Handle{}, wes.Errorf(wes.ECONFLICT, "a Kubernetes Job named for this run belongs to another run")
		}
	case apierrors.IsInvalid(err):
		e.log.Warn("the API server refused a job", "run_id", job.ID, "err", err)
		return wes.Handle{}, wes.Errorf(wes.EINVALID, "the Kubernetes API server refused the run's Job specification (the operators have the details in the server log)")
	case err != nil:
		return wes.Handle{}, e.apiError(err, "create the run's Job")
	default:
		e.log.Info("job created", "run_id", job.ID, "job", created.Name)
	}
	return e.handleFor(created, job)
}

func (e *Executor) handleFor(j *batchv1.Job, job *wes.Job) (wes.Handle, error) {
	return encodeHandle(handleData{Namespace: j.Namespace, Name: j.Name, UID: string(j.UID), RunID: job.ID, Stdout: job.Stdout, Stderr: job.Stderr})
}

func (e *Executor) validate(job *wes.Job) (mounts, error) {
	if err := job.Validate(); err != nil {
		return mounts{}, err
	}
	switch {
	case filepath.Clean(job.WorkDir) != job.WorkDir:
		return mounts{}, wes.Errorf(wes.EINVALID, "job work_dir must be a clean absolute path")
	case job.ImageOr(e.cfg.Image) == "":
		return mounts{}, wes.Errorf(wes.EINVALID, "job image is empty and the kubernetes executor has no default image")
	}
	for k := range job.Env {
		if !envName(k) {
			return mounts{}, wes.Errorf(wes.EINVALID, "job env name %q is not a valid variable name", k)
		}
	}
	// The worker sees the data volume at Data.MountPath, as the job will: a work dir
	// missing here would be missing in the pod too (and subPath would create it as root).
	if fi, err := os.Stat(job.WorkDir); err != nil || !fi.IsDir() {
		return mounts{}, wes.Errorf(wes.EINVALID, "the job's work directory does not exist")
	}
	return e.planMounts(job)
}

// envName accepts what Kubernetes accepts: printable ASCII without '='.
func envName(k string) bool {
	if k == "" || strings.Contains(k, "=") {
		return false
	}
	for _, r := range k {
		if r < ' ' || r > '~' {
			return false
		}
	}
	return true
}
