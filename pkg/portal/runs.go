package portal

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// listPageSize is how many runs a list page shows.
const listPageSize = 20

// runListPage is a page of runs with its filters.
type runListPage struct {
	Runs      []runs.RunSummary
	State     string
	Review    bool
	States    []wes.State
	Next      string // the next page's URL; "" on the last
	First     string // the first page's URL when this is not it
	ShowOwner bool
	Queue     bool // the review queue rather than the runs list
}

func (p *portal) runList(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	lf := runs.ListFilter{State: q.Get("state")}
	if q.Get("review") == runs.ReviewPending {
		lf.Review = runs.ReviewPending
	}
	p.listRuns(w, r, u, lf, q.Get("page"), "runs", "Runs", "runs")
}

// listRuns renders one page of the runs lf selects, on the list page at path.
func (p *portal) listRuns(w http.ResponseWriter, r *http.Request, u *user, lf runs.ListFilter, token, path, title, active string) {
	list, next, err := p.runs.List(r.Context(), u.P, listPageSize, token, lf)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	pg := runListPage{Runs: list, State: lf.State, Review: lf.Review != "", States: wes.AllStates,
		ShowOwner: u.P.SeesAllRuns(), Queue: path == "review"}
	link := func(page string) string {
		v := url.Values{}
		if path == "runs" {
			if lf.State != "" {
				v.Set("state", lf.State)
			}
			if lf.Review != "" {
				v.Set("review", lf.Review)
			}
		}
		if page != "" {
			v.Set("page", page)
		}
		if len(v) == 0 {
			return p.cfg.Prefix + path
		}
		return p.cfg.Prefix + path + "?" + v.Encode()
	}
	if next != "" {
		pg.Next = link(next)
	}
	if token != "" {
		pg.First = link("")
	}
	p.render(w, r, u, http.StatusOK, "runs", title, active, pg)
}

// runPage is a run as its caller may see it.
type runPage struct {
	V         *runs.RunView
	Tasks     []wes.Task
	TasksErr  string
	Notice    string
	CanCancel bool
	CanDelete bool
	Review    bool // the caller may review its pending outputs
	Pending   bool
	Engine    string // the engine's own outputs of a run outside the catalogue, as JSON
}

// notices are the fixed messages an action leaves on the run page (?done=...): the page
// never echoes text from its address.
var notices = map[string]string{
	"canceled": "Cancellation requested. The run stops shortly.",
	"deleted":  "The run's files and outputs were deleted. Its record and audit trail stay.",
	"reviewed": "Your decision was recorded.",
}

func (p *portal) runPage(w http.ResponseWriter, r *http.Request, u *user) {
	ctx, id := r.Context(), r.PathValue("id")
	v, err := p.runs.Get(ctx, u.P, id)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	pg := runPage{V: v, Notice: notices[r.URL.Query().Get("done")]}
	if _, tasks, err := p.runs.Tasks(ctx, u.P, id); err != nil {
		pg.TasksErr = p.runs.HideZonePaths(wes.ErrorMessage(err))
	} else {
		pg.Tasks = tasks
	}
	mine := v.Run.Owner == u.P.Subject || u.Admin
	pg.CanCancel = mine && !v.Run.State.Terminal()
	pg.CanDelete = mine && v.Run.State.Terminal()
	pg.Pending = v.Run.ReviewPending()
	pg.Review = pg.Pending && u.Reviewer
	if !v.Sealed && len(v.Run.Outputs) > 0 && v.EngineOutput {
		if b, err := json.MarshalIndent(v.Run.Outputs, "", "  "); err == nil {
			pg.Engine = p.runs.HideZonePaths(string(b))
		}
	}
	p.render(w, r, u, http.StatusOK, "run", "Run "+v.Run.ID, "runs", pg)
}

// runStatus is the run's state as JSON, for the pages' script to follow a run live.
func (p *portal) runStatus(w http.ResponseWriter, r *http.Request, u *user) {
	st, err := p.runs.Status(r.Context(), u.P, r.PathValue("id"))
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		code, ok := statusOf[wes.ErrorCode(err)]
		if !ok || code >= 500 {
			p.log.Warn("run status failed", "err", err)
			code = http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": http.StatusText(code)})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"state": st, "terminal": st.Terminal()})
}

func (p *portal) runCancel(w http.ResponseWriter, r *http.Request, u *user) {
	if _, err := p.runs.Cancel(r.Context(), u.P, r.PathValue("id")); err != nil {
		p.fail(w, r, u, err)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"runs/"+r.PathValue("id")+"?done=canceled", http.StatusSeeOther)
}

func (p *portal) runDelete(w http.ResponseWriter, r *http.Request, u *user) {
	if _, err := p.runs.Delete(r.Context(), u.P, r.PathValue("id")); err != nil {
		p.fail(w, r, u, err)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"runs/"+r.PathValue("id")+"?done=deleted", http.StatusSeeOther)
}
