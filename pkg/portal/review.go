package portal

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

func (p *portal) reviewQueue(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.Reviewer {
		p.fail(w, r, u, errNotReviewer)
		return
	}
	p.listRuns(w, r, u, runs.ListFilter{Review: runs.ReviewPending}, r.URL.Query().Get("page"), "review", "Review queue", "review")
}

var errNotReviewer = wes.Errorf(wes.EFORBIDDEN, "reviewing outputs needs the %s or %s role", wes.RoleDataController, wes.RoleAdmin)

// reviewFile is one output on the review page; pending ones carry their decision's
// fields (index I in the form).
type reviewFile struct {
	runs.OutputView
	I        int
	Preview  *preview
	Download string
	Decision string // as posted: approve, reject or ""
	Reason   string
	Error    string
}

// reviewPageData is the review page.
type reviewPageData struct {
	V       *runs.RunView
	Pending []*reviewFile
	Decided []*reviewFile
	Errors  []string
	Notice  string
}

func (p *portal) reviewPage(w http.ResponseWriter, r *http.Request, u *user) {
	pg, err := p.reviewData(r, u)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	pg.Notice = notices[r.URL.Query().Get("done")]
	p.render(w, r, u, http.StatusOK, "review", "Review run "+pg.V.Run.ID, "review", pg)
}

// reviewData loads the run and previews its pending files. Each preview is read through
// the run service's Download, which audits the reviewer's inspection.
func (p *portal) reviewData(r *http.Request, u *user) (*reviewPageData, error) {
	if !u.Reviewer {
		return nil, errNotReviewer
	}
	id := r.PathValue("id")
	v, err := p.runs.Get(r.Context(), u.P, id)
	if err != nil {
		return nil, err
	}
	pg := &reviewPageData{V: v}
	for _, o := range v.Outputs {
		f := &reviewFile{OutputView: o, Download: outputURL(p.cfg.Prefix, id, o.Path)}
		if o.Status != wes.OutputPending {
			pg.Decided = append(pg.Decided, f)
			continue
		}
		f.I = len(pg.Pending)
		pg.Pending = append(pg.Pending, f)
		if !previewable(o.Path, o.ContentType, o.Size) {
			continue
		}
		d, err := p.runs.Download(r.Context(), u.P, id, o.Path)
		if err != nil {
			f.Preview = &preview{Why: "No preview: " + p.runs.HideZonePaths(wes.ErrorMessage(err))}
			continue
		}
		pv := makePreview(o.Path, o.ContentType, d.Body)
		d.Body.Close()
		f.Preview = &pv
	}
	return pg, nil
}

// reviewDecide sends the form's per-file decisions to the run service's Review. Files
// left undecided stay pending. A refusal is shown on the page, at the file it names.
func (p *portal) reviewDecide(w http.ResponseWriter, r *http.Request, u *user) {
	pg, err := p.reviewData(r, u)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	d := &runs.Decision{}
	var decided []*reviewFile
	for _, f := range pg.Pending {
		i := strconv.Itoa(f.I)
		if r.PostForm.Get("path."+i) != f.Path {
			continue // the form was made for other files: leave this one alone
		}
		f.Decision, f.Reason = r.PostForm.Get("decision."+i), strings.TrimSpace(r.PostForm.Get("reason."+i))
		if f.Decision == "" {
			continue
		}
		d.Files = append(d.Files, runs.FileDecision{Path: f.Path, Decision: f.Decision, Reason: f.Reason})
		decided = append(decided, f)
	}
	if len(d.Files) == 0 {
		pg.Errors = []string{"Choose Approve or Reject for at least one file."}
		p.render(w, r, u, http.StatusBadRequest, "review", "Review run "+pg.V.Run.ID, "review", pg)
		return
	}
	_, err = p.runs.Review(r.Context(), u.P, pg.V.Run.ID, d)
	if c := wes.ErrorCode(err); c == wes.EINVALID || c == wes.ECONFLICT {
		msg := p.runs.HideZonePaths(wes.ErrorMessage(err))
		if f := fileOf(decided, msg); f != nil {
			f.Error = msg
		} else {
			pg.Errors = []string{msg}
		}
		p.render(w, r, u, statusOf[c], "review", "Review run "+pg.V.Run.ID, "review", pg)
		return
	}
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"review/"+pg.V.Run.ID+"?done=reviewed", http.StatusSeeOther)
}

// fileOf is the decided file a Review refusal names: files[i] of the decision, or the
// file's quoted path.
func fileOf(decided []*reviewFile, msg string) *reviewFile {
	for i, f := range decided {
		if strings.HasPrefix(msg, fmt.Sprintf("files[%d]", i)) || strings.Contains(msg, strconv.Quote(f.Path)) {
			return f
		}
	}
	return nil
}
