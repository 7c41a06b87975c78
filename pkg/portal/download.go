package portal

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/spe4hd/enclave/pkg/runs"
)

// download sends an output through the run service's Download, which checks and audits
// it (a released file; a pending one to a reviewer, as output.inspect). It is always an
// attachment: a browser saves it rather than render it on the portal's origin.
func (p *portal) download(w http.ResponseWriter, r *http.Request, u *user) {
	d, err := p.runs.Download(r.Context(), u.P, r.PathValue("id"), r.PathValue("path"))
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	defer d.Body.Close()
	ct := d.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(d.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.Name}))
	h.Set("X-Enclave-SHA256", d.SHA256)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, io.LimitReader(d.Body, d.Size)); err != nil {
		p.log.Debug("download ended early", "err", err)
	}
}

// roCrate sends the run's Workflow Run RO-Crate metadata (runs.Service.ROCrate).
func (p *portal) roCrate(w http.ResponseWriter, r *http.Request, u *user) {
	b, err := p.runs.ROCrate(r.Context(), u.P, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", runs.ROCrateContentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Content-Disposition", `attachment; filename="ro-crate-metadata.json"`)
	_, _ = w.Write(b)
}

// maxLogBytes bounds the engine log the portal shows; the API serves the rest by offset.
const maxLogBytes = 1 << 20

// runLog shows the engine's stdout or stderr as plain text, where the run's log policy
// lets the caller read it (runs.Service.LogSection decides and audits).
func (p *portal) runLog(w http.ResponseWriter, r *http.Request, u *user) {
	body, _, err := p.runs.LogSection(r.Context(), u.P, r.PathValue("id"), r.PathValue("stream"), 0)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if _, err := io.Copy(w, io.LimitReader(body, maxLogBytes)); err != nil {
		p.log.Debug("log ended early", "err", err)
	}
}
