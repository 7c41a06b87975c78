package tes

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"time"

	tesapi "github.com/spe4hd/enclave/api/tes"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Submit creates the job's TES task, or returns the handle of the task an earlier Submit
// of the same job id created. A task that ended with a system error or was preempted never
// ran the job to its end, so it is not reused: Submit creates a new one.
func (e *Executor) Submit(ctx context.Context, job *wes.Job) (wes.Handle, error) {
	if err := e.validate(job); err != nil {
		return wes.Handle{}, err
	}
	defer e.locks.Lock(job.ID)()
	d := handleData{Server: e.server, JobID: job.ID, WorkDir: filepath.Clean(job.WorkDir),
		Stdout: job.Stdout, Stderr: job.Stderr, TimeLimitNS: int64(job.Resources.TimeLimit)}
	id, err := e.find(ctx, job.ID)
	if err != nil {
		return wes.Handle{}, err
	}
	if id == "" {
		// What a failed earlier task may have left behind is not this task's result.
		if err := os.RemoveAll(filepath.Join(d.WorkDir, stageName)); err != nil {
			return wes.Handle{}, wes.Internal(err, "could not clear the job's staging directory")
		}
		if id, err = e.create(ctx, e.buildTask(job)); err != nil {
			return wes.Handle{}, err
		}
		e.log.Info("task created", "run_id", job.ID, "task", id)
	}
	d.TaskID = id
	return encodeHandle(d)
}

// find returns the id of the newest reusable task of job id, or "".
func (e *Executor) find(ctx context.Context, jobID string) (string, error) {
	var best string
	var bestTime time.Time
	err := e.listTasks(ctx, TagRunID, jobID, func(ts []tesapi.TesTask) bool {
		for _, t := range ts {
			if t.Tags[TagRunID] != jobID || t.State == tesapi.TesStateSYSTEMERROR || t.State == tesapi.TesStatePREEMPTED {
				continue
			}
			created := parseTime(t.CreationTime)
			if best == "" || created.After(bestTime) {
				best, bestTime = t.Id, created
			}
		}
		return true
	})
	return best, err
}

func (e *Executor) create(ctx context.Context, t tesapi.TesTask) (string, error) {
	res, err := e.api.CreateTaskWithResponse(ctx, t)
	if err != nil {
		return "", unreachable(err)
	}
	if res.StatusCode() != http.StatusOK || res.JSON200 == nil || res.JSON200.Id == "" {
		return "", httpError(res.StatusCode(), res.Body, "create the job's task")
	}
	return res.JSON200.Id, nil
}

// parseTime reads a TES time (RFC 3339); anything else is the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
