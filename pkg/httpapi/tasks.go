package httpapi

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// ListTasks implements GET /runs/{run_id}/tasks (runs.Service.Tasks), paged here.
func (s *server) ListTasks(ctx context.Context, req api.ListTasksRequestObject) (api.ListTasksResponseObject, error) {
	// The run first: a run the caller may not see is a 404 (and audited) whatever the
	// paging parameters say.
	_, tasks, err := s.runs.Tasks(ctx, wes.PrincipalFromContext(ctx), req.RunId)
	if err != nil {
		return nil, err
	}
	size, err := s.pageSize(req.Params.PageSize)
	if err != nil {
		return nil, err
	}
	start, err := decodeTaskToken(req.Params.PageToken)
	if err != nil {
		return nil, err
	}
	out := api.ListTasks200JSONResponse{TaskLogs: []api.TaskLog{}}
	if start >= len(tasks) {
		return out, nil
	}
	end := min(start+size, len(tasks))
	for _, t := range tasks[start:end] {
		out.TaskLogs = append(out.TaskLogs, taskLog(t))
	}
	if end < len(tasks) {
		out.NextPageToken = encodeTaskToken(end)
	}
	return out, nil
}

// GetTask implements GET /runs/{run_id}/tasks/{task_id}.
func (s *server) GetTask(ctx context.Context, req api.GetTaskRequestObject) (api.GetTaskResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	r, tasks, err := s.runs.Tasks(ctx, p, req.RunId)
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		if t.ID == req.TaskId {
			return api.GetTask200JSONResponse(taskLog(t)), nil
		}
	}
	return nil, wes.Errorf(wes.ENOTFOUND, "task %q was not found in run %s", truncate(req.TaskId, 64), r.ID)
}

// taskLog shows a task. What the engine wrote for it (command line, system logs) and
// its tes_uri only when cmds is true: the command carries parameter values, in the sealed
// zone dataset paths, and anything a tool printed; the URI names a backend inside the
// zone. Zone paths in them are rewritten by zr.
func taskLog(t wes.Task) api.TaskLog {
	name := t.Name
	if name == "" {
		name = t.ID
	}
	var exit *int32
	if t.ExitCode != nil {
		v := int32(*t.ExitCode)
		exit = &v
	}
	return api.TaskLog{
		Id:         t.ID,
		Name:       name,
		Cmd:        t.Cmd,
		StartTime:  formatTime(t.StartTime),
		EndTime:    formatTime(t.EndTime),
		ExitCode:   exit,
		SystemLogs: t.SystemLogs,
		TesUri:     t.TESURI,
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
