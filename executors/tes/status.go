package tes

import (
	"context"
	"errors"
	"time"

	tesapi "github.com/spe4hd/enclave/api/tes"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Messages of Status, safe to show the run's owner.
const (
	lostMessage      = "the TES server no longer knows the job's task"
	systemMessage    = "the TES server ended the task with a system error: staging its files or running its container failed"
	preemptedMessage = "the TES server preempted the task"
	stageMessage     = "copying the work directory into the task failed"
	timeoutMessage   = "the job exceeded its time limit and was canceled"
	canceledMessage  = "the task was canceled on the TES server, not by Enclave"
)

// Status reads the job's task (view BASIC). When it has ended, the job's results are
// delivered (deliver.go) before Status reports the end.
func (e *Executor) Status(ctx context.Context, h wes.Handle) (wes.JobStatus, error) {
	d, err := e.decode(h)
	if err != nil {
		return wes.JobStatus{}, err
	}
	return e.status(ctx, d)
}

func (e *Executor) status(ctx context.Context, d handleData) (wes.JobStatus, error) {
	t, err := e.getTask(ctx, d.TaskID, tesapi.GetTaskParamsViewBASIC)
	if errors.Is(err, errNotFound) {
		return wes.JobStatus{State: wes.JobLost, Message: lostMessage}, nil
	}
	if err != nil {
		return wes.JobStatus{}, err
	}
	return e.statusOf(ctx, d, t)
}

// StatusBatch lists the executor's tasks (tag managed_by=enclave, view BASIC) page by page
// until it has seen every handle's task. A task the list does not show is read on its own,
// which tells a task the server forgot (lost) from a list that is incomplete.
func (e *Executor) StatusBatch(ctx context.Context, hs []wes.Handle) ([]wes.JobStatus, error) {
	out := make([]wes.JobStatus, len(hs))
	if len(hs) == 0 {
		return out, nil
	}
	ds, err := wes.DecodeHandles(hs, e.decode)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, d := range ds {
		want[d.TaskID] = true
	}
	found := map[string]*tesapi.TesTask{}
	err = e.listTasks(ctx, TagManagedBy, ManagedBy, func(ts []tesapi.TesTask) bool {
		for i := range ts {
			if want[ts[i].Id] {
				found[ts[i].Id] = &ts[i]
			}
		}
		return len(found) < len(want)
	})
	if err != nil {
		return nil, err
	}
	for i, d := range ds {
		if t, ok := found[d.TaskID]; ok {
			out[i], err = e.statusOf(ctx, d, t)
		} else {
			out[i], err = e.status(ctx, d)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// statusOf maps t, enforces the job's time limit and delivers the results of an ended job.
func (e *Executor) statusOf(ctx context.Context, d handleData, t *tesapi.TesTask) (wes.JobStatus, error) {
	js := mapState(t, time.Duration(d.TimeLimitNS))
	if js.State == wes.JobRunning && d.TimeLimitNS > 0 && !js.StartTime.IsZero() && time.Since(js.StartTime) > time.Duration(d.TimeLimitNS) {
		if err := e.cancel(ctx, d); err != nil {
			return wes.JobStatus{}, err
		}
		e.log.Info("task canceled: time limit", "run_id", d.JobID, "task", d.TaskID)
		return e.status(ctx, d)
	}
	if js.State == wes.JobCanceled && !canceledByEnclave(d) {
		js.State, js.Message = wes.JobLost, canceledMessage
	}
	if js.State.Ended() {
		if err := e.deliver(ctx, d, js); err != nil {
			return wes.JobStatus{}, err
		}
	}
	return js, nil
}

// mapState maps a task (view BASIC or FULL) to the job's status. The job is the task's
// last executor; the ones before it stage the work directory.
func mapState(t *tesapi.TesTask, limit time.Duration) wes.JobStatus {
	var tl tesapi.TesTaskLog
	if n := len(t.Logs); n > 0 {
		tl = t.Logs[n-1] // the latest attempt
	}
	jobIdx := len(t.Executors) - 1
	if jobIdx < 0 {
		jobIdx = len(tl.Logs) - 1
	}
	var jl *tesapi.TesExecutorLog
	if jobIdx >= 0 && jobIdx < len(tl.Logs) {
		jl = &tl.Logs[jobIdx]
	}
	js := wes.JobStatus{StartTime: parseTime(tl.StartTime), EndTime: parseTime(tl.EndTime)}
	if jl != nil {
		if s := parseTime(jl.StartTime); !s.IsZero() {
			js.StartTime = s
		}
		if e := parseTime(jl.EndTime); !e.IsZero() {
			js.EndTime = e
		}
	}
	code := func() *int {
		if jl == nil || parseTime(jl.EndTime).IsZero() {
			return nil
		}
		c := int(jl.ExitCode)
		return &c
	}
	switch t.State {
	case tesapi.TesStateRUNNING, tesapi.TesStatePAUSED, tesapi.TesStateCANCELING:
		js.State, js.EndTime = wes.JobRunning, time.Time{}
	case tesapi.TesStateCOMPLETE:
		js.State, js.ExitCode = wes.JobSucceeded, code()
		if js.ExitCode == nil {
			zero := 0
			js.ExitCode = &zero
		}
	case tesapi.TesStateEXECUTORERROR:
		js.State, js.ExitCode = wes.JobFailed, code()
		if jl == nil && len(tl.Logs) > 0 {
			js.Message = stageMessage
		}
	case tesapi.TesStateSYSTEMERROR:
		js.State, js.Message = wes.JobLost, systemMessage
	case tesapi.TesStatePREEMPTED:
		js.State, js.Message = wes.JobLost, preemptedMessage
	case tesapi.TesStateCANCELED:
		js.State, js.Message = wes.JobCanceled, "canceled"
		end := js.EndTime
		if end.IsZero() { // the server records the end a little after the cancel
			end = time.Now()
		}
		if limit > 0 && !js.StartTime.IsZero() && end.Sub(js.StartTime) >= limit {
			js.State, js.Message = wes.JobFailed, timeoutMessage
		}
	default: // QUEUED, INITIALIZING, UNKNOWN
		js = wes.JobStatus{State: wes.JobQueued}
	}
	if js.State.Ended() && !js.EndTime.IsZero() && js.EndTime.Before(js.StartTime) {
		js.EndTime = js.StartTime
	}
	return js
}
