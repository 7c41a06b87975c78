package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/spe4hd/enclave/pkg/wes"
)

// The operations that skip the validator, and the ones that keep it: a change to the
// spec that gives one of the open operations a query or a constrained parameter moves it
// to the validated ones, and this list must be looked at again.
func TestOpenOperations(t *testing.T) {
	v, err := newValidator()
	if err != nil {
		t.Fatal(err)
	}
	var open, checked []string
	for _, r := range v.routes {
		if r.open {
			open = append(open, r.Operation.OperationID)
		} else {
			checked = append(checked, r.Operation.OperationID)
		}
	}
	slices.Sort(open)
	slices.Sort(checked)
	wantOpen := []string{"CancelRun", "DeleteRun", "DownloadRunOutput", "ExportAudit", "GetOpenAPIDocument", "GetRunLog", "GetRunROCrate",
		"GetRunStatus", "GetServiceInfo", "GetTask", "ListAuditCheckpoints", "ListCatalogDatasets", "ListCatalogWorkflows", "ListRunOutputs",
		"ReviewRunOutputs", "RunWorkflow"}
	wantChecked := []string{"GetRunLogStream", "ListRuns", "ListTasks", "QueryAudit"}
	if !slices.Equal(open, wantOpen) || !slices.Equal(checked, wantChecked) {
		t.Errorf("open operations %v, validated %v; want %v and %v", open, checked, wantOpen, wantChecked)
	}
}

// What makes skipping safe: for every open operation, kin-openapi's validator, as the
// server configures it, accepts any non-empty path parameters and any query, so skipping
// it changes no answer.
func TestOpenOperationsHaveNothingToRefuse(t *testing.T) {
	v, err := newValidator()
	if err != nil {
		t.Fatal(err)
	}
	values := []string{"x", "0190a5b2-0000-7000-8000-000000000001", "%ZZ", "a/b", "..", "\x00", "é\u2028", `"quoted"`,
		strings.Repeat("a", 5000), " ", "-1", "{run_id}", "\xff"}
	queries := []string{"", "page_size=abc", "offset=-1&limit=x", "%zz", "a=1&a=2"}
	n := 0
	for key, r := range v.routes {
		if !r.open {
			continue
		}
		for _, val := range values {
			for _, q := range queries {
				params := map[string]string{}
				for _, seg := range strings.Split(key.path, "/") {
					if name, ok := strings.CutPrefix(seg, ":"); ok {
						params[name] = val
					}
				}
				req := httptest.NewRequest(key.method, "/x?"+q, strings.NewReader("{not json"))
				req.Header.Set("Content-Type", "text/plain")
				in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: r.Route, Options: &v.opts}
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Errorf("%s %s with %q, query %q: the validator refuses: %v", key.method, key.path, val, q, err)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no open operation was tried")
	}
}

// Invalid parameters still get the validator's 400 ErrorResponse, word for word as
// before open operations skipped it, and an empty path parameter on an open operation
// still goes through it.
func TestValidatorStillRefuses(t *testing.T) {
	h := newHarness(t)
	id := h.createRun("alice", nil).ID
	for _, tc := range []struct{ path, msg string }{
		{"/runs?page_size=abc", `query parameter page_size must be an integer; got "abc"`},
		{"/runs/" + id + "/tasks?page_size=abc", `query parameter page_size must be an integer; got "abc"`},
		{"/runs/" + id + "/logs/stdin", `path parameter stream: value is not one of the allowed values ["stdout","stderr"]`},
		{"/runs/" + id + "/logs/stdout?offset=-1", "query parameter offset: number must be at least 0"},
		{"/audit?limit=x", `query parameter limit must be an integer; got "x"`},
		{"/runs//status", "path parameter run_id: value is required but missing"},
		{"/runs//cancel", "path parameter run_id: value is required but missing"},
	} {
		method := http.MethodGet
		if strings.HasSuffix(tc.path, "/cancel") {
			method = http.MethodPost
		}
		st, b, _ := h.do(method, BasePath+tc.path, "admin", "", nil)
		if e := errorBody(t, st, b); st != http.StatusBadRequest || e.Msg != tc.msg {
			t.Errorf("%s %s: %d %q, want 400 %q", method, tc.path, st, e.Msg, tc.msg)
		}
	}
	// What the validator never refused is answered as before: the run service's 404 for a
	// malformed id, and a query the operation does not declare is ignored.
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/runs/%25ZZ/status", 404, `{"msg":"run \"%ZZ\" was not found","status_code":404}`},
		{"/runs/%20/status", 404, `{"msg":"run \" \" was not found","status_code":404}`},
		{"/runs/" + id + "/status?page_size=abc", 200, `{"run_id":"` + id + `","state":"QUEUED"}`},
	} {
		st, b, _ := h.do(http.MethodGet, BasePath+tc.path, "admin", "", nil)
		if st != tc.status || strings.TrimSpace(string(b)) != tc.body {
			t.Errorf("GET %s: %d %s, want %d %s", tc.path, st, b, tc.status, tc.body)
		}
	}
}

// A status read of another user's run is refused as a read of the whole run is: 404, and
// a run.access event naming the owner, the workflow and the datasets.
func TestStatusRefusalAudited(t *testing.T) {
	h := newSealedHarness(t)
	r := h.createRun("alice", func(r *wes.Run) { r.Workflow = "cohort-count-smk"; r.Datasets = []string{"cohort-demo", "other"} })
	st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+url.PathEscape(r.ID)+"/status", "bob", "", nil)
	if e := errorBody(t, st, b); st != http.StatusNotFound || e.Msg != `run "`+r.ID+`" was not found` {
		t.Fatalf("bob's status read: %d %q", st, e.Msg)
	}
	evs := h.events(actionRunAccess)
	if len(evs) != 1 {
		t.Fatalf("run.access events: %+v", evs)
	}
	e := evs[0]
	if e.Actor != "bob" || e.Outcome != "refused" || e.RunID != r.ID || e.Workflow != "cohort-count-smk" || e.Dataset != "cohort-demo,other" ||
		e.Detail["cause"] != refusedOthers || e.Detail["owner"] != "alice" || e.Detail["request"] != "GET /runs/{run_id}/status" {
		t.Errorf("event %+v", e)
	}
	if st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/status", "alice", "", nil); st != 200 ||
		strings.TrimSpace(string(b)) != `{"run_id":"`+r.ID+`","state":"QUEUED"}` {
		t.Errorf("the owner's status read: %d %s", st, b)
	}
}
