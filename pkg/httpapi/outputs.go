package httpapi

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// outputURL is where a released output can be downloaded: this API's download route,
// which audits each download, or, where Config.PresignedURLs allows it, the result
// store's short-lived URL, audited here as it is issued (who, which output, how long it
// is valid), since what is fetched with it is not. A URL the trail cannot record is not
// handed out.
func (s *server) outputURL(ctx context.Context, r *wes.Run, o wes.Output) string {
	route := baseURLFrom(ctx) + "/runs/" + r.ID + "/outputs/" + url.PathEscape(o.Path)
	if !s.cfg.PresignedURLs || s.deps.Results == nil {
		return route
	}
	u, err := s.deps.Results.URL(ctx, o.Key, s.cfg.OutputURLTTL)
	if err != nil {
		s.log.Warn("no presigned URL for an output; pointing at the download route", "run_id", r.ID, "err", err)
		return route
	}
	if u == "" {
		return route
	}
	actor := "anonymous"
	if p := wes.PrincipalFromContext(ctx); p != nil {
		actor = p.Subject
	}
	ev := runEvent(actor, actionOutputURL, "ok", r)
	ev.Detail = map[string]string{"path": o.Path, "sha256": o.SHA256, "ttl_seconds": strconv.Itoa(int(s.cfg.OutputURLTTL.Seconds())),
		"expires": time.Now().Add(s.cfg.OutputURLTTL).UTC().Format(time.RFC3339)}
	if s.record(ctx, ev) != nil {
		return route
	}
	return u
}

// reviewer reports whether p decides on held outputs and so may see what an unreleased
// output is: its size, sha256 and content type. Anyone else, the run's owner included,
// learns only that it is pending or rejected and why; a hash or size of a small file
// held back by review can be enough to recover its content by trying candidates.
func reviewer(p *wes.Principal) bool {
	return p.HasRole(wes.RoleDataController) || p.HasRole(wes.RoleAdmin)
}

// outputViews lists r's released, pending and rejected outputs for the API, as p may
// see them.
func (s *server) outputViews(ctx context.Context, r *wes.Run, p *wes.Principal) []api.RunOutput {
	out := make([]api.RunOutput, 0, len(r.Released))
	for _, o := range r.Released {
		v := api.RunOutput{Path: o.Path, Status: api.RunOutputStatus(o.Status)}
		if o.Status == wes.OutputReleased || reviewer(p) {
			v.Size, v.Sha256, v.ContentType = o.Size, o.SHA256, o.ContentType
		}
		if o.Status == wes.OutputReleased {
			v.ReleasedAt = formatTime(o.Released)
			v.Url = s.outputURL(ctx, r, o)
		} else {
			v.Reason = o.Reason
		}
		out = append(out, v)
	}
	return out
}

// runLogOutputs is RunLog.outputs: for runs under the sealed zone's rules only what
// egress released (path → size, sha256, content type, URL), with held outputs as
// {status: pending} or {status: rejected, reason} (reviewers also see their size,
// sha256 and content type); for open runs what the engine reported. The caller is the
// principal in ctx (none sees no more than an owner).
func (s *server) runLogOutputs(ctx context.Context, r *wes.Run) map[string]any {
	p := wes.PrincipalFromContext(ctx)
	if !s.sealedRun(r) {
		if r.Outputs == nil {
			return map[string]any{}
		}
		return r.Outputs
	}
	out := map[string]any{}
	for _, o := range r.Released {
		if o.Status != wes.OutputReleased {
			v := map[string]any{"status": o.Status}
			if o.Reason != "" {
				v["reason"] = o.Reason
			}
			if reviewer(p) {
				v["size"], v["sha256"], v["content_type"] = o.Size, o.SHA256, o.ContentType
			}
			out[o.Path] = v
			continue
		}
		out[o.Path] = map[string]any{"size": o.Size, "sha256": o.SHA256, "content_type": o.ContentType,
			"url": s.outputURL(ctx, r, o)}
	}
	return out
}

// ListRunOutputs implements GET /runs/{run_id}/outputs.
func (s *server) ListRunOutputs(ctx context.Context, req api.ListRunOutputsRequestObject) (api.ListRunOutputsResponseObject, error) {
	r, p, err := s.visibleRun(ctx, req.RunId)
	if err != nil {
		return nil, err
	}
	return api.ListRunOutputs200JSONResponse(s.outputList(ctx, r, p)), nil
}

func (s *server) outputList(ctx context.Context, r *wes.Run, p *wes.Principal) api.RunOutputList {
	l := api.RunOutputList{RunId: r.ID, State: api.State(r.State), Workflow: r.Workflow, Outputs: s.outputViews(ctx, r, p)}
	if cat := s.currentCatalog(); cat != nil && r.Workflow != "" {
		if e, ok := cat.Entry(r.Workflow); ok {
			l.Egress = e.Egress
		}
	}
	return l
}

// findOutput returns the output of r at p.
func findOutput(r *wes.Run, p string) (wes.Output, bool) {
	for _, o := range r.Released {
		if o.Path == p {
			return o, true
		}
	}
	return wes.Output{}, false
}

// DownloadRunOutput implements GET /runs/{run_id}/outputs/{path}: a released output's
// bytes from the result store, checked against the sha256 recorded at release. Each
// download is audited before a byte is sent.
func (s *server) DownloadRunOutput(ctx context.Context, req api.DownloadRunOutputRequestObject) (api.DownloadRunOutputResponseObject, error) {
	r, p, err := s.visibleRun(ctx, req.RunId)
	if err != nil {
		return nil, err
	}
	o, ok := findOutput(r, req.Path)
	switch {
	case !ok:
		return nil, wes.Errorf(wes.ENOTFOUND, "run %s has no output %q; GET /runs/%s/outputs lists them", r.ID, truncate(req.Path, 200), r.ID)
	case o.Status == wes.OutputPending:
		return nil, wes.Errorf(wes.ECONFLICT, "output %q of run %s is waiting for a data controller's review", o.Path, r.ID)
	case o.Status != wes.OutputReleased:
		why := o.Reason
		if why == "" {
			why = "a data controller rejected it"
		}
		return nil, wes.Errorf(wes.EFORBIDDEN, "output %q of run %s was not released: %s", o.Path, r.ID, why)
	case s.deps.Results == nil:
		return nil, wes.Errorf(wes.EUNAVAILABLE, "this server has no result store to download outputs from")
	}
	rc, info, err := s.deps.Results.Get(ctx, o.Key)
	if err != nil {
		if wes.IsCode(err, wes.ENOTFOUND) {
			return nil, wes.Errorf(wes.ENOTFOUND, "output %q of run %s is no longer stored", o.Path, r.ID)
		}
		return nil, err
	}
	ev := runEvent(p.Subject, actionDownload, "ok", r)
	ev.Detail = map[string]string{"path": o.Path, "sha256": o.SHA256, "size": strconv.FormatInt(o.Size, 10)}
	if info.SHA256 != "" && info.SHA256 != o.SHA256 {
		rc.Close()
		ev.Outcome, ev.Reason = "error", "the stored object does not match the sha256 recorded at release"
		_ = s.record(ctx, ev)
		return nil, wes.Internal(fmt.Errorf("object %s has sha256 %s, recorded %s", o.Key, info.SHA256, o.SHA256),
			"output %q of run %s failed its integrity check", o.Path, r.ID)
	}
	if s.record(ctx, ev) != nil {
		rc.Close()
		return nil, errAuditDown
	}
	size := info.Size
	if size <= 0 {
		size = o.Size
	}
	return download{body: rc, size: size, contentType: o.ContentType, sha256: o.SHA256, name: path.Base(o.Path)}, nil
}

// download writes an output as an attachment: browsers save it rather than render it,
// so an HTML output cannot run script on the API's origin.
type download struct {
	body        io.ReadCloser
	size        int64
	contentType string
	sha256      string
	name        string
}

func (d download) VisitDownloadRunOutputResponse(w http.ResponseWriter) error {
	defer d.body.Close()
	ct := d.contentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(d.size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Enclave-SHA256", d.sha256)
	w.WriteHeader(http.StatusOK)
	_, err := io.Copy(w, io.LimitReader(d.body, d.size))
	return err
}
