package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/runs"
)

func runsFilter() runs.ListFilter { return runs.ListFilter{} }

func TestCatalogPages(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser("alice")
	list := b.get("/catalog")
	mustContain(t, "catalogue", list.body, `href="/catalog/cohort-count-smk"`, "Count patients per group (Snakemake)",
		"Demo cohort (synthetic)", "released after a data controller")
	pg := b.get("/catalog/cohort-count-smk")
	if pg.status != 200 {
		t.Fatalf("entry: %d", pg.status)
	}
	mustContain(t, "entry form", pg.body,
		`<label for="cohort">cohort <span class="req">(required)</span></label>`,
		`<select id="cohort" name="param.cohort" required aria-describedby="cohort-help">`,
		`<option value="cohort-demo">Demo cohort (synthetic) (cohort-demo)</option>`,
		`<select id="group_by" name="param.group_by"`, `<option value="site" selected>site</option>`,
		`<input type="number" id="min_count" name="param.min_count" value="5" step="1" min="5" max="100"`,
		`<p class="help" id="min_count-help">Smallest count released`,
		`<button type="submit">Start run</button>`,
		"Only files matching <code>results/summary.csv</code> leave the zone, at most 1 file(s), each at most 1.0 MiB")
	// A researcher who may not run it, and a workflow that does not exist, are one 404.
	if pg := h.browser("carol").get("/catalog/cohort-count-smk"); pg.status != http.StatusNotFound {
		t.Errorf("carol (no researcher role) GET entry: %d, want 404", pg.status)
	}
	if pg := b.get("/catalog/no-such"); pg.status != http.StatusNotFound {
		t.Errorf("unknown entry: %d, want 404", pg.status)
	}
}

func TestSubmitFromForm(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser("alice")
	form := url.Values{"param.cohort": {"cohort-demo"}, "param.group_by": {"sex"}, "param.min_count": {"7"}, "idem": {"k1"}}
	pg := b.post("/catalog/cohort-count-smk/run", form, true)
	loc := pg.header.Get("Location")
	if pg.status != http.StatusSeeOther || !regexp.MustCompile(`^/runs/[0-9a-f-]{36}$`).MatchString(loc) {
		t.Fatalf("submit: %d to %q: %s", pg.status, loc, pg.body)
	}
	id := strings.TrimPrefix(loc, "/runs/")
	r := h.getRun(id)
	if r.Owner != "alice" || r.Workflow != "cohort-count-smk" {
		t.Errorf("stored run: owner %s workflow %s", r.Owner, r.Workflow)
	}
	var params map[string]any
	if err := json.Unmarshal(r.Request.WorkflowParams, &params); err != nil {
		t.Fatal(err)
	}
	if params["group_by"] != "sex" || params["min_count"] != float64(7) {
		t.Errorf("params %v: want group_by sex and the number 7", params)
	}
	// The same form sent twice (a double click) makes one run.
	if again := b.post("/catalog/cohort-count-smk/run", form, true); again.header.Get("Location") != loc {
		t.Errorf("resubmitted form: %d to %q, want the same run %q", again.status, again.header.Get("Location"), loc)
	}
	run := b.get(loc)
	mustContain(t, "run page", run.body, id, "QUEUED", `data-status-url="/runs/`+id+`/status"`, "cohort-count-smk",
		`<button type="submit" class="danger">Cancel run</button>`)
	st := b.get(loc + "/status")
	if st.status != 200 || !strings.Contains(st.body, `"state":"QUEUED"`) || !strings.Contains(st.body, `"terminal":false`) {
		t.Errorf("status: %d %s", st.status, st.body)
	}
}

func TestFormErrorsAtFields(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser("alice")
	pg := b.post("/catalog/cohort-count-smk/run", url.Values{"param.min_count": {"2"}, "param.group_by": {"site"}}, true)
	if pg.status != http.StatusBadRequest {
		t.Fatalf("invalid form: %d, want 400", pg.status)
	}
	mustContain(t, "form with errors", pg.body,
		`<p class="field-error" id="min_count-error">must be at least 5</p>`,
		`aria-describedby="min_count-help min_count-error"`, `aria-invalid="true"`,
		`<p class="field-error" id="cohort-error">is required</p>`,
		`value="2"`, // the value as entered
		`<option value="site" selected>site</option>`,
		`role="alert"`, `<a href="#min_count">`)
	pg = b.post("/catalog/cohort-count-smk/run", url.Values{"param.cohort": {"cohort-demo"}, "param.min_count": {"many"}}, true)
	mustContain(t, "non-number", pg.body, `id="min_count-error">must be integer, not string`, `value="many"`)
	pg = b.post("/catalog/cohort-count-smk/run", url.Values{"param.cohort": {"../../etc/passwd"}}, true)
	mustContain(t, "path as dataset", pg.body, `id="cohort-error">`)
	if list, _, _ := h.svc.List(t.Context(), testUsers["alice"], 10, "", runsFilter()); len(list) != 0 {
		t.Errorf("refused forms made %d runs", len(list))
	}
}
