package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/redact"
	"github.com/spe4hd/enclave/pkg/wes"
)

// ListTasks implements GET /runs/{run_id}/tasks. Tasks come from the engine, read from
// the run's work directory, in the engine's order, with ids and names only as the
// run's validated workflow declares them (engines.Tasks); a page token is an opaque offset.
func (s *server) ListTasks(ctx context.Context, req api.ListTasksRequestObject) (api.ListTasksResponseObject, error) {
	r, p, err := s.visibleRun(ctx, req.RunId)
	if err != nil {
		return nil, err
	}
	cmds, _ := s.engineOutputAccess(p, r)
	size, err := s.pageSize(req.Params.PageSize)
	if err != nil {
		return nil, err
	}
	start, err := decodeTaskToken(req.Params.PageToken)
	if err != nil {
		return nil, err
	}
	tasks, err := s.runTasks(ctx, r)
	if err != nil {
		return nil, err
	}
	out := api.ListTasks200JSONResponse{TaskLogs: []api.TaskLog{}}
	if start >= len(tasks) {
		return out, nil
	}
	end := min(start+size, len(tasks))
	zr := s.zoneRewriter(r)
	for _, t := range tasks[start:end] {
		out.TaskLogs = append(out.TaskLogs, taskLog(t, cmds, zr))
	}
	if end < len(tasks) {
		out.NextPageToken = encodeTaskToken(end)
	}
	return out, nil
}

// GetTask implements GET /runs/{run_id}/tasks/{task_id}.
func (s *server) GetTask(ctx context.Context, req api.GetTaskRequestObject) (api.GetTaskResponseObject, error) {
	r, p, err := s.visibleRun(ctx, req.RunId)
	if err != nil {
		return nil, err
	}
	tasks, err := s.runTasks(ctx, r)
	if err != nil {
		return nil, err
	}
	cmds, _ := s.engineOutputAccess(p, r)
	for _, t := range tasks {
		if t.ID == req.TaskId {
			return api.GetTask200JSONResponse(taskLog(t, cmds, s.zoneRewriter(r))), nil
		}
	}
	return nil, wes.Errorf(wes.ENOTFOUND, "task %q was not found in run %s", truncate(req.TaskId, 64), r.ID)
}

// runTasks asks the run's engine for its tasks. A run that has no work directory yet, or
// whose engine is no longer configured, has none to show.
func (s *server) runTasks(ctx context.Context, r *wes.Run) ([]wes.Task, error) {
	e, ok := s.deps.Engines.ByName(r.Engine)
	if !ok {
		s.log.Warn("run's engine is not configured; listing no tasks", "run_id", r.ID, "engine", r.Engine)
		return nil, nil
	}
	if r.WorkDir == "" {
		return nil, nil
	}
	if _, err := os.Stat(r.WorkDir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	tasks, err := engines.Tasks(ctx, e, s.runWorkflow(r))
	if err != nil {
		if wes.ErrorCode(err) == wes.EINTERNAL {
			return nil, wes.Internal(err, "the tasks of run %s could not be read", r.ID)
		}
		return nil, err
	}
	// The engine's tasks ran inside the run's one backend job: with a TES executor, they
	// all point at its task.
	if s.deps.TaskURI != nil && r.Handle != nil {
		if uri := s.deps.TaskURI(*r.Handle); uri != "" {
			for i := range tasks {
				if tasks[i].TESURI == "" {
					tasks[i].TESURI = uri
				}
			}
		}
	}
	return tasks, nil
}

// runWorkflow locates r's workflow in its work dir for the names it declares: a
// catalogue run's entry point and files as the catalogue pins them (none when its entry
// has left the catalogue), another run's workflow_url, unpinned (its files are its
// owner's own).
func (s *server) runWorkflow(r *wes.Run) engines.Workflow {
	wf := engines.Workflow{WorkDir: r.WorkDir}
	if r.Workflow == "" {
		wf.Main = r.Request.WorkflowURL
		return wf
	}
	wf.Pins = map[string]string{}
	cat := s.currentCatalog()
	if cat == nil {
		return wf
	}
	e, ok := cat.Entry(r.Workflow)
	if !ok {
		return wf
	}
	wf.Main = e.Main
	for _, f := range e.Files {
		wf.Pins[f.Path] = f.SHA256
	}
	return wf
}

// taskLog shows a task. What the engine wrote for it (command line, system logs) and
// its tes_uri only when cmds is true: the command carries parameter values, in the sealed
// zone dataset paths, and anything a tool printed; the URI names a backend inside the
// zone. Zone paths in them are rewritten by zr.
func taskLog(t wes.Task, cmds bool, zr *redact.Rewriter) api.TaskLog {
	name := t.Name
	if name == "" {
		name = t.ID
	}
	var exit *int32
	if t.ExitCode != nil {
		v := int32(*t.ExitCode)
		exit = &v
	}
	var cmd, sys []string
	var tesURI string
	if cmds {
		cmd, sys, tesURI = zr.Strings(t.Cmd), zr.Strings(t.SystemLogs), t.TESURI
	}
	return api.TaskLog{
		Id:         t.ID,
		Name:       name,
		Cmd:        cmd,
		StartTime:  formatTime(t.StartTime),
		EndTime:    formatTime(t.EndTime),
		ExitCode:   exit,
		SystemLogs: sys,
		TesUri:     tesURI,
	}
}

// Task page tokens are "t" + offset, base64url-encoded: opaque to clients, and the
// prefix lets the format change later without old tokens being misread.
func encodeTaskToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("t" + strconv.Itoa(offset)))
}

func decodeTaskToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	bad := wes.Errorf(wes.EINVALID, "page_token is not valid; pass the next_page_token of the previous page, or none for the first page")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, bad
	}
	n, ok := strings.CutPrefix(string(raw), "t")
	if !ok {
		return 0, bad
	}
	off, err := strconv.Atoi(n)
	if err != nil || off < 0 {
		return 0, bad
	}
	return off, nil
}
