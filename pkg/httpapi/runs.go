package httpapi

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// wesTime is the WES time format: RFC 3339 in UTC with whole seconds.
const wesTime = "2006-01-02T15:04:05Z"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(wesTime)
}

// pageSize applies the default and checks the limits of a page_size parameter.
func (s *server) pageSize(v *int64) (int, error) {
	if v == nil {
		return s.cfg.DefaultPageSize, nil
	}
	if *v < 1 || *v > int64(s.cfg.MaxPageSize) {
		return 0, wes.Errorf(wes.EINVALID, "page_size must be between 1 and %d; got %d", s.cfg.MaxPageSize, *v)
	}
	return int(*v), nil
}

// ListRuns implements GET /runs.
func (s *server) ListRuns(ctx context.Context, req api.ListRunsRequestObject) (api.ListRunsResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	size, err := s.pageSize(req.Params.PageSize)
	if err != nil {
		return nil, err
	}
	lf := runs.ListFilter{State: req.Params.State, Workflow: req.Params.Workflow, Review: req.Params.Review,
		Owner: req.Params.Owner}
	for _, t := range req.Params.Tag {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return nil, wes.Errorf(wes.EINVALID, "tag %q must be key=value", truncate(t, 64))
		}
		if _, dup := lf.Tags[k]; dup {
			return nil, wes.Errorf(wes.EINVALID, "tag %q is given twice", truncate(k, 64))
		}
		if lf.Tags == nil {
			lf.Tags = map[string]string{}
		}
		lf.Tags[k] = v
	}
	list, next, err := s.runs.List(ctx, p, size, req.Params.PageToken, lf)
	if err != nil {
		return nil, err
	}
	out := api.ListRuns200JSONResponse{Runs: make([]api.RunSummary, 0, len(list)), NextPageToken: next}
	for _, rs := range list {
		r := rs.Run
		out.Runs = append(out.Runs, api.RunSummary{
			RunId:     r.ID,
			State:     api.State(r.State),
			StartTime: formatTime(r.StartTime),
			EndTime:   formatTime(r.EndTime),
			Tags:      rs.Tags,
		})
	}
	return out, nil
}

// GetRunStatus implements GET /runs/{run_id}/status.
func (s *server) GetRunStatus(ctx context.Context, req api.GetRunStatusRequestObject) (api.GetRunStatusResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	st, err := s.runs.Status(ctx, p, req.RunId)
	if err != nil {
		return nil, err
	}
	return api.GetRunStatus200JSONResponse{RunId: req.RunId, State: api.State(st)}, nil
}

// GetRunLog implements GET /runs/{run_id}.
func (s *server) GetRunLog(ctx context.Context, req api.GetRunLogRequestObject) (api.GetRunLogResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	v, err := s.runs.Get(ctx, p, req.RunId)
	if err != nil {
		return nil, err
	}
	r := v.Run
	base := baseURLFrom(ctx) + "/runs/" + r.ID
	// The engine's streams only for those the log policy lets see them.
	stdout, stderr := base+"/logs/stdout", base+"/logs/stderr"
	if !v.EngineOutput {
		stdout, stderr = "", ""
	}
	params := map[string]any{}
	if len(r.Request.WorkflowParams) > 0 {
		if err := json.Unmarshal(r.Request.WorkflowParams, &params); err != nil {
			return nil, wes.Internal(err, "the stored workflow_params of run %s are not a JSON object", r.ID)
		}
	}
	start, end := r.Log.StartTime, r.Log.EndTime
	if start.IsZero() {
		start = r.StartTime
	}
	if end.IsZero() {
		end = r.EndTime
	}
	name := r.Log.Name
	if name == "" {
		name = r.Engine
	}
	var exit *int32
	if r.Log.ExitCode != nil {
		v := int32(*r.Log.ExitCode)
		exit = &v
	}
	return api.GetRunLog200JSONResponse{
		RunId: r.ID,
		Request: api.RunRequest{
			WorkflowParams:           params,
			WorkflowType:             r.Request.WorkflowType,
			WorkflowTypeVersion:      r.Request.WorkflowTypeVersion,
			Tags:                     v.Tags,
			WorkflowEngineParameters: r.Request.WorkflowEngineParameters,
			WorkflowEngine:           r.Request.WorkflowEngine,
			WorkflowEngineVersion:    r.Request.WorkflowEngineVersion,
			WorkflowUrl:              r.Request.WorkflowURL,
		},
		State: api.State(r.State),
		RunLog: api.Log{
			Name:       name,
			Cmd:        v.Cmd,
			StartTime:  formatTime(start),
			EndTime:    formatTime(end),
			ExitCode:   exit,
			Stdout:     stdout,
			Stderr:     stderr,
			SystemLogs: v.SystemLogs,
		},
		TaskLogsUrl: base + "/tasks",
		Outputs:     s.runLogOutputs(ctx, v),
	}, nil
}

// CancelRun implements POST /runs/{run_id}/cancel (runs.Service.Cancel).
func (s *server) CancelRun(ctx context.Context, req api.CancelRunRequestObject) (api.CancelRunResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	r, err := s.runs.Cancel(ctx, p, req.RunId)
	if err != nil {
		return nil, err
	}
	return api.CancelRun200JSONResponse{RunId: r.ID}, nil
}

// DeleteRun implements DELETE /runs/{run_id} (runs.Service.Delete): a finished run's
// work directory, engine logs and released objects are removed; its record and audit
// trail stay.
func (s *server) DeleteRun(ctx context.Context, req api.DeleteRunRequestObject) (api.DeleteRunResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	r, err := s.runs.Delete(ctx, p, req.RunId)
	if err != nil {
		return nil, err
	}
	return api.DeleteRun200JSONResponse{RunId: r.ID}, nil
}
