package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/api"
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

// validRunID reports whether id is a run id as Enclave makes them: a UUID in its
// canonical lower-case form. Anything else cannot name a run (nor a path in DataDir).
func validRunID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

func runNotFound(id string) error {
	return wes.Errorf(wes.ENOTFOUND, "run %q was not found", truncate(id, 64))
}

// visibleRun returns the run if the caller may see it. A malformed id, an unknown one
// and another owner's run are all plain "not found", so a caller learns nothing about
// runs that are not theirs; each of these refusals is audited (rate-limited per caller,
// see auditRunRefusal), so probing for run ids leaves a trace.
func (s *server) visibleRun(ctx context.Context, id string) (*wes.Run, *wes.Principal, error) {
	p, err := callerFrom(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !validRunID(id) {
		s.auditRunRefusal(ctx, p, id, refusedMalformed, nil)
		return nil, nil, runNotFound(id)
	}
	r, err := s.deps.Store.Get(ctx, id)
	if wes.IsCode(err, wes.ENOTFOUND) {
		s.auditRunRefusal(ctx, p, id, refusedUnknown, nil)
		return nil, nil, runNotFound(id)
	}
	if err != nil {
		return nil, nil, err
	}
	if r.Owner != p.Subject && !p.SeesAllRuns() {
		s.auditRunRefusal(ctx, p, id, refusedOthers, r)
		return nil, nil, runNotFound(id)
	}
	return r, p, nil
}

// ownerFilter is the owner whose runs p may list or count: "" (everyone) for
// administrators and data controllers.
func ownerFilter(p *wes.Principal) string {
	if p.SeesAllRuns() {
		return ""
	}
	return p.Subject
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
	p, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	size, err := s.pageSize(req.Params.PageSize)
	if err != nil {
		return nil, err
	}
	page, err := s.deps.Store.List(ctx, wes.RunFilter{Owner: ownerFilter(p), PageSize: size, PageToken: req.Params.PageToken})
	if err != nil {
		return nil, err
	}
	out := api.ListRuns200JSONResponse{Runs: make([]api.RunSummary, 0, len(page.Runs)), NextPageToken: page.NextPageToken}
	for _, r := range page.Runs {
		tags := s.tagsFor(p, r)
		out.Runs = append(out.Runs, api.RunSummary{
			RunId:     r.ID,
			State:     api.State(r.State),
			StartTime: formatTime(r.StartTime),
			EndTime:   formatTime(r.EndTime),
			Tags:      tags,
		})
	}
	return out, nil
}

// GetRunStatus implements GET /runs/{run_id}/status.
func (s *server) GetRunStatus(ctx context.Context, req api.GetRunStatusRequestObject) (api.GetRunStatusResponseObject, error) {
	r, _, err := s.visibleRun(ctx, req.RunId)
	if err != nil {
		return nil, err
	}
	return api.GetRunStatus200JSONResponse{RunId: r.ID, State: api.State(r.State)}, nil
}

// GetRunLog implements GET /runs/{run_id}.
func (s *server) GetRunLog(ctx context.Context, req api.GetRunLogRequestObject) (api.GetRunLogResponseObject, error) {
	r, p, err := s.visibleRun(ctx, req.RunId)
	if err != nil {
		return nil, err
	}
	base := baseURLFrom(ctx) + "/runs/" + r.ID
	// The engine's streams and command lines only for those the log policy lets see them.
	stdout, stderr, cmd := base+"/logs/stdout", base+"/logs/stderr", r.Log.Cmd
	if ok, _ := s.engineOutputAccess(p, r); !ok {
		stdout, stderr, cmd = "", "", nil
	}
	// Enclave's messages can quote an executor or engine; neither they nor the command
	// line show a zone path.
	zr := s.zoneRewriter(r)
	cmd, sysLogs := zr.Strings(cmd), zr.Strings(r.Log.SystemLogs)
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
			Tags:                     s.tagsFor(p, r),
			WorkflowEngineParameters: r.Request.WorkflowEngineParameters,
			WorkflowEngine:           r.Request.WorkflowEngine,
			WorkflowEngineVersion:    r.Request.WorkflowEngineVersion,
			WorkflowUrl:              r.Request.WorkflowURL,
		},
		State: api.State(r.State),
		RunLog: api.Log{
			Name:       name,
			Cmd:        cmd,
			StartTime:  formatTime(start),
			EndTime:    formatTime(end),
			ExitCode:   exit,
			Stdout:     stdout,
			Stderr:     stderr,
			SystemLogs: sysLogs,
		},
		TaskLogsUrl: base + "/tasks",
		Outputs:     s.runLogOutputs(ctx, r),
	}, nil
}

// errFinished stops a cancel's store update when the run has already finished.
var errFinished = errors.New("run already finished")

// CancelRun implements POST /runs/{run_id}/cancel. A finished run is left alone and the
// call still succeeds; otherwise the run is marked CANCELING (with CancelRequested, so a
// start step racing with the cancel does not submit the job) and a cancel step is queued.
func (s *server) CancelRun(ctx context.Context, req api.CancelRunRequestObject) (api.CancelRunResponseObject, error) {
	r, p, err := s.visibleRun(ctx, req.RunId)
	if err != nil {
		return nil, err
	}
	// Data controllers see every run but only review; stopping another user's run is
	// for its owner and administrators.
	if r.Owner != p.Subject && !p.HasRole(wes.RoleAdmin) {
		return nil, wes.Errorf(wes.EFORBIDDEN, "only the run's owner or an %s may cancel run %s", wes.RoleAdmin, r.ID)
	}
	ok := api.CancelRun200JSONResponse{RunId: r.ID}
	if r.State.Terminal() {
		return ok, nil
	}
	_, err = s.deps.Store.Update(ctx, r.ID, func(cur *wes.Run) error {
		if cur.State.Terminal() {
			return errFinished
		}
		cur.CancelRequested = true
		cur.State = wes.StateCanceling
		return nil
	})
	if errors.Is(err, errFinished) {
		return ok, nil
	}
	if err != nil {
		return nil, err
	}
	log := s.log.With("run_id", r.ID)
	log.Info("run cancel requested", "by", p.Subject)
	_ = s.record(ctx, runEvent(p.Subject, actionCancel, "ok", r))
	// The state change is stored, so the request has succeeded even if the queue is
	// unreachable now: the reconciler re-enqueues the cancel of CANCELING runs.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dispatchTimeout)
	defer cancel()
	if err := s.deps.Dispatcher.Cancel(dctx, r.ID); err != nil {
		log.Warn("could not enqueue the cancel step; the reconciler will retry", "err", err)
	}
	return ok, nil
}

// dispatchTimeout bounds a call to the Dispatcher after the run's state is stored.
const dispatchTimeout = 10 * time.Second
