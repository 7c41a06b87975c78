package portal

import (
	"net/http"
	"net/url"

	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// auditPageSize is how many entries an audit page shows.
const auditPageSize = 100

// auditPage is a page of the audit trail with its filters.
type auditPage struct {
	Q       runs.AuditQuery
	Entries []wes.AuditEntry
	Next    string
	Error   string // a filter the trail refused (a malformed time)
}

func (p *portal) auditPage(w http.ResponseWriter, r *http.Request, u *user) {
	qs := r.URL.Query()
	q := runs.AuditQuery{RunID: qs.Get("run_id"), Actor: qs.Get("actor"), Action: qs.Get("action"),
		Since: qs.Get("since"), Until: qs.Get("until"), Limit: auditPageSize, Cursor: qs.Get("cursor")}
	page, err := p.runs.AuditQuery(r.Context(), u.P, q)
	pg := auditPage{Q: q}
	switch {
	case wes.IsCode(err, wes.EINVALID):
		pg.Error = wes.ErrorMessage(err)
		p.render(w, r, u, http.StatusBadRequest, "audit", "Audit trail", "audit", pg)
		return
	case err != nil:
		p.fail(w, r, u, err)
		return
	}
	pg.Entries = page.Entries
	if page.Next != "" {
		v := url.Values{}
		for _, k := range []string{"run_id", "actor", "action", "since", "until"} {
			if x := qs.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		v.Set("cursor", page.Next)
		pg.Next = p.cfg.Prefix + "audit?" + v.Encode()
	}
	p.render(w, r, u, http.StatusOK, "audit", "Audit trail", "audit", pg)
}

// auditExport sends the whole trail as JSON lines (runs.Service.AuditExport audits the
// export first).
func (p *portal) auditExport(w http.ResponseWriter, r *http.Request, u *user) {
	write, err := p.runs.AuditExport(r.Context(), u.P)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="enclave-audit.jsonl"`)
	if err := write(r.Context(), w); err != nil {
		p.log.Warn("audit export ended early", "err", err)
	}
}
