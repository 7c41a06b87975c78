package docker

import (
	"context"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/spe4hd/enclave/pkg/wes"
)

// lostMessage is what Status says when the container is gone.
const lostMessage = "the job's container no longer exists on the container engine"

// Status inspects the job's container. When it has ended, the job's logs are copied into
// job.Stdout and job.Stderr before Status reports the end.
func (e *Executor) Status(ctx context.Context, h wes.Handle) (wes.JobStatus, error) {
	d, err := decodeHandle(h)
	if err != nil {
		return wes.JobStatus{}, err
	}
	return e.status(ctx, d)
}

// StatusBatch lists every container of the executor in one call. Running jobs are
// answered from the list (without StartTime); the others, which are about to start or
// have ended, and jobs with a time limit are inspected as Status does.
func (e *Executor) StatusBatch(ctx context.Context, hs []wes.Handle) ([]wes.JobStatus, error) {
	out := make([]wes.JobStatus, len(hs))
	if len(hs) == 0 {
		return out, nil
	}
	ds, err := wes.DecodeHandles(hs, decodeHandle)
	if err != nil {
		return nil, err
	}
	res, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", LabelRunID)})
	if err != nil {
		return nil, unavailable(err, "list containers")
	}
	byID := make(map[string]container.Summary, len(res.Items))
	for _, c := range res.Items {
		byID[c.ID] = c
	}
	for i, d := range ds {
		c, ok := byID[d.ContainerID]
		switch {
		case !ok:
			out[i] = wes.JobStatus{State: wes.JobLost, Message: lostMessage}
		case c.State == container.StateRunning && d.TimeLimitNS == 0:
			// The list has no start time: StatusBatch leaves it to Status.
			out[i] = wes.JobStatus{State: wes.JobRunning}
		default:
			// Ended ones need their exit code, times and logs copied; created ones
			// whether they failed to start; timed ones their start.
			if out[i], err = e.status(ctx, d); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (e *Executor) status(ctx context.Context, d handleData) (wes.JobStatus, error) {
	in, err := e.cli.ContainerInspect(ctx, d.ContainerID, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return wes.JobStatus{State: wes.JobLost, Message: lostMessage}, nil
	}
	if err != nil {
		return wes.JobStatus{}, unavailable(err, "inspect the job's container")
	}
	c := in.Container
	st := c.State
	if st == nil {
		return wes.JobStatus{}, wes.Internal(nil, "the container engine reported no state for the job's container")
	}
	start, end := parseTime(st.StartedAt), parseTime(st.FinishedAt)
	if !end.IsZero() && end.Before(start) {
		// The engine records StartedAt after the process began, so a job of a few
		// milliseconds can seem to end before it started.
		end = start
	}
	name := strings.TrimPrefix(c.Name, "/")
	switch st.Status {
	case container.StateCreated:
		if name == containerName(d.JobID)+suffixCanceled {
			// Canceled before it started: stop leaves a created container as it is.
			return wes.JobStatus{State: wes.JobCanceled, Message: "canceled before it started"}, nil
		}
		if st.Error == "" {
			return wes.JobStatus{State: wes.JobQueued}, nil
		}
		// The engine could not start the command (not found, not executable).
		code := st.ExitCode
		if code == 0 {
			code = 127
		}
		return wes.JobStatus{State: wes.JobFailed, ExitCode: &code, EndTime: end, Message: startFailure(code)}, nil
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		if d.TimeLimitNS > 0 && !start.IsZero() && time.Since(start) > time.Duration(d.TimeLimitNS) {
			if err := e.stop(ctx, d, suffixTimeout); err != nil {
				return wes.JobStatus{}, err
			}
			return e.status(ctx, d)
		}
		return wes.JobStatus{State: wes.JobRunning, StartTime: start}, nil
	}
	// exited, dead, removing: the job has ended.
	if err := e.copyLogs(ctx, d, end); err != nil {
		return wes.JobStatus{}, err
	}
	code := st.ExitCode
	js := wes.JobStatus{State: wes.JobFailed, ExitCode: &code, StartTime: start, EndTime: end}
	base := containerName(d.JobID)
	switch {
	case name == base+suffixCanceled:
		js.State, js.Message = wes.JobCanceled, "canceled"
	case name == base+suffixTimeout:
		js.Message = "the job exceeded its time limit and was stopped"
	case st.OOMKilled:
		js.Message = "the job ran out of memory (its memory limit) and was killed"
	case code == 0:
		js.State = wes.JobSucceeded
	}
	return js, nil
}

func startFailure(code int) string {
	switch code {
	case 126:
		return "the job's command could not be executed in the container image"
	case 127:
		return "the job's command was not found in the container image"
	}
	return "the job's container could not start"
}

// parseTime reads the engine's RFC 3339 times; the zero time ("0001-01-01...") stays zero.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 2 {
		return time.Time{}
	}
	return t
}
