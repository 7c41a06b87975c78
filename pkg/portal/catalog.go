package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// catalogPage is the catalogue: the workflows and datasets the user may use.
type catalogPage struct {
	Workflows []runs.CatalogWorkflow
	Datasets  []runs.CatalogDataset
	NoCatalog string // why there is none (an open server without a catalogue)
}

func (p *portal) catalogList(w http.ResponseWriter, r *http.Request, u *user) {
	ws, err := p.runs.CatalogWorkflows(r.Context(), u.P)
	if wes.IsCode(err, wes.ENOTFOUND) {
		p.render(w, r, u, http.StatusOK, "catalog", "Catalogue", "catalog", catalogPage{NoCatalog: wes.ErrorMessage(err)})
		return
	}
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	ds, err := p.runs.CatalogDatasets(r.Context(), u.P)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	p.render(w, r, u, http.StatusOK, "catalog", "Catalogue", "catalog", catalogPage{Workflows: ws, Datasets: ds})
}

// entryPage is a catalogue entry with its run form.
type entryPage struct {
	W      runs.CatalogWorkflow
	Fields []*formField
	Errors []string // problems the form shows above its fields
	Idem   string   // the submission's idempotency key: a second click makes no second run
}

// FieldErrors reports whether a field shows an error.
func (e entryPage) FieldErrors() bool {
	for _, f := range e.Fields {
		if f.Error != "" {
			return true
		}
	}
	return false
}

// entry returns catalogue workflow id as u may run it, with the datasets u may use; a
// workflow u may not run is as unknown as one that does not exist.
func (p *portal) entry(ctx context.Context, u *user, id string) (runs.CatalogWorkflow, []runs.CatalogDataset, error) {
	ws, err := p.runs.CatalogWorkflows(ctx, u.P)
	if err != nil {
		return runs.CatalogWorkflow{}, nil, err
	}
	for _, wf := range ws {
		if wf.ID == id {
			ds, err := p.runs.CatalogDatasets(ctx, u.P)
			return wf, ds, err
		}
	}
	return runs.CatalogWorkflow{}, nil, wes.Errorf(wes.ENOTFOUND, "no such workflow")
}

func (p *portal) catalogEntry(w http.ResponseWriter, r *http.Request, u *user) {
	wf, ds, err := p.entry(r.Context(), u, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	p.render(w, r, u, http.StatusOK, "entry", wf.Name, "catalog", entryPage{W: wf, Fields: buildForm(wf, ds), Idem: newKey()})
}

// catalogRun submits the run form through the run service. Problems the service finds
// in the params are shown at their fields, with the values as entered; on success the
// browser goes to the new run's page.
func (p *portal) catalogRun(w http.ResponseWriter, r *http.Request, u *user) {
	ctx := r.Context()
	wf, ds, err := p.entry(ctx, u, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	pg := entryPage{W: wf, Fields: buildForm(wf, ds), Idem: r.PostForm.Get("idem")}
	params, problems := readForm(pg.Fields, r.PostForm)
	if len(problems) > 0 {
		p.render(w, r, u, http.StatusBadRequest, "entry", wf.Name, "catalog", pg)
		return
	}
	raw, err := paramsJSON(params)
	if err != nil {
		p.fail(w, r, u, wes.Internal(err, "params"))
		return
	}
	id, err := p.submit(ctx, u.P, pg.Idem, &wes.RunRequest{WorkflowURL: wf.ID, WorkflowParams: raw})
	if wes.IsCode(err, wes.EINVALID) {
		pg.Errors = placeErrors(pg.Fields, p.runs.HideZonePaths(wes.ErrorMessage(err)))
		p.render(w, r, u, http.StatusBadRequest, "entry", wf.Name, "catalog", pg)
		return
	}
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"runs/"+id, http.StatusSeeOther)
}

// submit runs the service's submission steps as the API does (BeginSubmit, Submit, End),
// with the form's idempotency key and a hash of what it asks for.
func (p *portal) submit(ctx context.Context, pr *wes.Principal, key string, rr *wes.RunRequest) (id string, err error) {
	d, err := p.runs.BeginSubmit(ctx, pr, key, key != "")
	if err != nil {
		return "", err
	}
	defer func() { d.End(ctx, err) }()
	d.SetWorkflow(rr.WorkflowURL)
	h := sha256.New()
	h.Write([]byte("portal\x00" + rr.WorkflowURL + "\x00"))
	h.Write(rr.WorkflowParams)
	return p.runs.Submit(ctx, d, rr, hex.EncodeToString(h.Sum(nil)))
}

// newKey is a fresh idempotency key for a form.
func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "portal-" + hex.EncodeToString(b)
}
