package tes

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	tesapi "github.com/spe4hd/enclave/api/tes"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Cancel asks the TES server to cancel the job's task (POST /tasks/{id}:cancel). Cancelling
// an ended task, or one the server no longer knows, is a no-op.
func (e *Executor) Cancel(ctx context.Context, h wes.Handle) error {
	d, err := e.decode(h)
	if err != nil {
		return err
	}
	return e.cancel(ctx, d)
}

func (e *Executor) cancel(ctx context.Context, d handleData) error {
	// Servers refuse to cancel an ended task (Funnel: an invalid state transition, HTTP
	// 500), so look first.
	t, err := e.getTask(ctx, d.TaskID, tesapi.GetTaskParamsViewMINIMAL)
	if errors.Is(err, errNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if ended(t.State) {
		return nil
	}
	// Recorded before asking: a CANCELED task without this mark was canceled by someone
	// else (statusOf).
	if err := markCanceled(d); err != nil {
		return err
	}
	res, err := e.api.CancelTaskWithResponse(ctx, d.TaskID)
	if err != nil {
		return unreachable(err)
	}
	switch res.StatusCode() {
	case http.StatusOK, http.StatusNotFound:
		e.log.Info("task canceled", "run_id", d.JobID, "task", d.TaskID)
		return nil
	}
	// It may have ended between the two requests.
	if t, gerr := e.getTask(ctx, d.TaskID, tesapi.GetTaskParamsViewMINIMAL); gerr == nil && ended(t.State) {
		return nil
	}
	return httpError(res.StatusCode(), res.Body, "cancel the job's task")
}

// canceledMark is the file, in the job's log directory, that records that Enclave asked
// for the job's task to be canceled. TES tasks cannot be marked after their creation, and
// a task canceled by the TES server's operator or another client is not a cancel the
// run's owner asked for: Status reports that one lost.
func canceledMark(d handleData) string {
	return filepath.Join(filepath.Dir(d.Stdout), ".tes-canceled")
}

func markCanceled(d handleData) error {
	if err := writeFile(canceledMark(d), d.TaskID+"\n"); err != nil {
		return wes.Internal(err, "could not record the cancel of the job's task")
	}
	return nil
}

// canceledByEnclave reports whether Cancel asked for the job's task to be canceled.
func canceledByEnclave(d handleData) bool {
	b, err := os.ReadFile(canceledMark(d))
	return err == nil && strings.TrimSpace(string(b)) == d.TaskID
}

// ended reports whether a TES state is final.
func ended(s tesapi.TesState) bool {
	switch s {
	case tesapi.TesStateCOMPLETE, tesapi.TesStateEXECUTORERROR, tesapi.TesStateSYSTEMERROR,
		tesapi.TesStateCANCELED, tesapi.TesStatePREEMPTED:
		return true
	}
	return false
}

// Logs returns the job's stdout or stderr as the TES server's task log holds it (view
// FULL), while the job runs or after: what the server keeps, for Funnel the last
// Worker.LogTailSize bytes, updated every Worker.LogUpdateRate. The complete logs of a
// completed job are in job.Stdout and job.Stderr once Status has reported its end.
func (e *Executor) Logs(ctx context.Context, h wes.Handle, stream string) (io.ReadCloser, error) {
	d, err := e.decode(h)
	if err != nil {
		return nil, err
	}
	if stream != "stdout" && stream != "stderr" {
		return nil, wes.Errorf(wes.EINVALID, "log stream %q: want stdout or stderr", stream)
	}
	t, err := e.getTask(ctx, d.TaskID, tesapi.GetTaskParamsViewFULL)
	if errors.Is(err, errNotFound) {
		return nil, wes.Errorf(wes.ENOTFOUND, "%s", lostMessage)
	}
	if err != nil {
		return nil, err
	}
	jl := jobLog(t)
	s := jl.Stdout
	if stream == "stderr" {
		s = jl.Stderr
	}
	return io.NopCloser(strings.NewReader(s)), nil
}

var (
	_ wes.Executor      = (*Executor)(nil)
	_ wes.StatusBatcher = (*Executor)(nil)
	_ wes.LogReader     = (*Executor)(nil)
)
