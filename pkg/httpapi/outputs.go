package httpapi

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// outputURL is where a released output can be downloaded: the result store's presigned
// URL when the run service handed one out, otherwise this API's download route, which
// audits each download.
func outputURL(ctx context.Context, runID string, o runs.OutputView) string {
	if o.URL != "" {
		return o.URL
	}
	return baseURLFrom(ctx) + "/runs/" + runID + "/outputs/" + url.PathEscape(o.Path)
}

// outputViews renders the outputs of run id for the API.
func outputViews(ctx context.Context, id string, views []runs.OutputView) []api.RunOutput {
	out := make([]api.RunOutput, 0, len(views))
	for _, o := range views {
		v := api.RunOutput{Path: o.Path, Status: api.RunOutputStatus(o.Status), Size: o.Size, Sha256: o.SHA256, ContentType: o.ContentType,
			Checks: checkResults(o.Checks), ApprovalsRequired: o.ApprovalsRequired, Approvals: o.Approvals, ApprovedBy: o.ApprovedBy}
		if o.Status == wes.OutputReleased {
			v.ReleasedAt = formatTime(o.Released)
			v.Url = outputURL(ctx, id, o)
		} else {
			v.Reason = o.Reason
		}
		out = append(out, v)
	}
	return out
}

// checkResults renders an output's disclosure check results.
func checkResults(in []wes.CheckResult) []api.CheckResult {
	if len(in) == 0 {
		return nil
	}
	out := make([]api.CheckResult, len(in))
	for i, c := range in {
		out[i] = api.CheckResult{Check: c.Check, Passed: c.Passed, Detail: c.Detail}
	}
	return out
}

// runLogOutputs is RunLog.outputs: for runs under the sealed zone's rules only what
// egress released (path → size, sha256, content type, URL), with held outputs as
// {status: pending} or {status: rejected, reason} (reviewers also see their size,
// sha256 and content type); for open runs what the engine reported.
func (s *server) runLogOutputs(ctx context.Context, v *runs.RunView) map[string]any {
	r := v.Run
	if !v.Sealed {
		if r.Outputs == nil {
			return map[string]any{}
		}
		return r.Outputs
	}
	out := map[string]any{}
	for _, o := range v.Outputs {
		if o.Status != wes.OutputReleased {
			m := map[string]any{"status": o.Status}
			if o.Reason != "" {
				m["reason"] = o.Reason
			}
			if v.Reviewer {
				m["size"], m["sha256"], m["content_type"] = o.Size, o.SHA256, o.ContentType
			}
			if len(o.Checks) > 0 {
				m["checks"] = checkResults(o.Checks)
			}
			out[o.Path] = m
			continue
		}
		m := map[string]any{"size": o.Size, "sha256": o.SHA256, "content_type": o.ContentType, "url": outputURL(ctx, r.ID, o)}
		if len(o.Checks) > 0 {
			m["checks"] = checkResults(o.Checks)
		}
		out[o.Path] = m
	}
	return out
}

// outputList renders a run's output list.
func outputList(ctx context.Context, l *runs.OutputList) api.RunOutputList {
	return api.RunOutputList{RunId: l.Run.ID, State: api.State(l.Run.State), Workflow: l.Run.Workflow,
		Outputs: outputViews(ctx, l.Run.ID, l.Outputs), Egress: l.Egress}
}

// ListRunOutputs implements GET /runs/{run_id}/outputs.
func (s *server) ListRunOutputs(ctx context.Context, req api.ListRunOutputsRequestObject) (api.ListRunOutputsResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	l, err := s.runs.Outputs(ctx, p, req.RunId)
	if err != nil {
		return nil, err
	}
	return api.ListRunOutputs200JSONResponse(outputList(ctx, l)), nil
}

// ReviewRunOutputs implements POST /runs/{run_id}/outputs/review (runs.Service.Review).
func (s *server) ReviewRunOutputs(ctx context.Context, req api.ReviewRunOutputsRequestObject) (api.ReviewRunOutputsResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	var d *runs.Decision
	if req.Body != nil {
		d = &runs.Decision{Decision: string(req.Body.Decision), Reason: req.Body.Reason}
		for _, f := range req.Body.Files {
			d.Files = append(d.Files, runs.FileDecision{Path: f.Path, Decision: string(f.Decision), Reason: f.Reason})
		}
	}
	l, err := s.runs.Review(ctx, p, req.RunId, d)
	if err != nil {
		return nil, err
	}
	return api.ReviewRunOutputs200JSONResponse(outputList(ctx, l)), nil
}

// DownloadRunOutput implements GET /runs/{run_id}/outputs/{path}: a released output's
// bytes from the result store, checked against the sha256 recorded at release and
// audited before a byte is sent (runs.Service.Download).
func (s *server) DownloadRunOutput(ctx context.Context, req api.DownloadRunOutputRequestObject) (api.DownloadRunOutputResponseObject, error) {
	p := wes.PrincipalFromContext(ctx)
	d, err := s.runs.Download(ctx, p, req.RunId, req.Path)
	if err != nil {
		return nil, err
	}
	return download{d}, nil
}

// download writes an output as an attachment: browsers save it rather than render it,
// so an HTML output cannot run script on the API's origin.
type download struct{ *runs.Download }

func (d download) VisitDownloadRunOutputResponse(w http.ResponseWriter) error {
	defer d.Body.Close()
	ct := d.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(d.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Enclave-SHA256", d.SHA256)
	w.WriteHeader(http.StatusOK)
	_, err := io.Copy(w, io.LimitReader(d.Body, d.Size))
	return err
}
