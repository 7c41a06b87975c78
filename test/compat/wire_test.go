package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// wire is an HTTP client of one Enclave server that checks every exchange against the
// official document: the request (so the test itself speaks official WES), the status
// and the response body against the schema of that operation and status.
type wire struct {
	spec *spec
	base string // http://addr/ga4gh/wes/v1
	hc   *http.Client

	mu         sync.Mutex
	undeclared map[string]bool // "GET /runs/{run_id}/tasks → 400": statuses the spec does not list
}

func newWire(t *testing.T, specPath, addr string) *wire {
	return &wire{spec: loadSpec(t, specPath, addr), base: "http://" + addr + apiBase,
		hc: &http.Client{Timeout: 30 * time.Second}, undeclared: map[string]bool{}}
}

// exchange is one answered request.
type exchange struct {
	what   string // "GET /runs/{run_id}" (the official operation)
	status int
	body   []byte
}

// decode unmarshals the body into v, failing the test if it is not that JSON.
func (x exchange) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(x.body, v); err != nil {
		t.Fatalf("%s → %d: body is not the expected JSON: %v\n%s", x.what, x.status, err, x.body)
	}
}

// request is what a test sends: a path below the API base, and for POST /runs a form.
type request struct {
	method string
	path   string
	form   *form
	// specInvalid marks a request that breaks the official document on purpose (to see
	// the server refuse it); the official validator must refuse it too.
	specInvalid bool
}

// do sends r and checks both directions against the official document; a mismatch fails
// the test with what differs. The exchange is returned for the test's own checks.
func (w *wire) do(t *testing.T, r request) exchange {
	t.Helper()
	var body []byte
	var contentType string
	if r.form != nil {
		body, contentType = r.form.encode(t)
	}
	newReq := func() *http.Request {
		req, err := http.NewRequest(r.method, w.base+r.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return req
	}

	vreq := newReq()
	route, pathParams, err := w.spec.router.FindRoute(vreq)
	if err != nil {
		t.Fatalf("%s %s is not an operation of the official document: %v", r.method, r.path, err)
	}
	x := exchange{what: r.method + " " + route.Path}
	// kin-openapi applies RejectWhenRequestBodyNotSpecified to operations that do specify
	// a body too, so it is set only where the official document has none.
	opts := *w.spec.opts
	opts.RejectWhenRequestBodyNotSpecified = route.Operation.RequestBody == nil
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: pathParams, Route: route, Options: &opts}
	err = openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case err != nil && !r.specInvalid:
		t.Errorf("%s: the test's own request breaks the official document: %v", x.what, err)
	case err == nil && r.specInvalid:
		t.Errorf("%s %s: the official document accepts a request the test meant to break it", r.method, r.path)
	}

	resp, err := w.hc.Do(newReq())
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	if x.body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatalf("%s %s: reading the response: %v", r.method, r.path, err)
	}
	x.status = resp.StatusCode
	if x.status >= 500 {
		t.Errorf("%s %s → %d: no request of this suite may cause a server error: %s", r.method, r.path, x.status, x.body)
	}

	responses := route.Operation.Responses
	if responses.Status(x.status) == nil && responses.Default() == nil {
		// The official document lists some statuses per operation, not all; a client
		// meets the others only as errors, so the body must still be an ErrorResponse.
		if x.status < 400 {
			t.Errorf("%s → %d: the official document does not declare this success status", x.what, x.status)
		}
		w.mu.Lock()
		w.undeclared[fmt.Sprintf("%s → %d", x.what, x.status)] = true
		w.mu.Unlock()
		w.checkJSONType(t, x, resp.Header)
	} else {
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: x.status, Header: resp.Header,
			Body: io.NopCloser(bytes.NewReader(x.body)), Options: &opts,
		})
		if err != nil {
			t.Errorf("%s → %d: the response does not match the official document: %v\nbody: %s", x.what, x.status, err, clip(x.body))
		}
	}
	if x.status >= 400 {
		w.checkErrorResponse(t, x)
	}
	return x
}

// checkJSONType requires a JSON Content-Type, for answers the document has no schema for.
func (w *wire) checkJSONType(t *testing.T, x exchange, h http.Header) {
	t.Helper()
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "application/json" {
		t.Errorf("%s → %d: Content-Type %q; want application/json", x.what, x.status, h.Get("Content-Type"))
	}
}

// checkErrorResponse requires an official ErrorResponse whose status_code is the HTTP
// status and whose msg says something.
func (w *wire) checkErrorResponse(t *testing.T, x exchange) {
	t.Helper()
	var v any
	if err := json.Unmarshal(x.body, &v); err != nil {
		t.Errorf("%s → %d: the error body is not JSON: %v: %s", x.what, x.status, err, clip(x.body))
		return
	}
	if err := w.spec.visit(t, "ErrorResponse", v); err != nil {
		t.Errorf("%s → %d: not an official ErrorResponse: %v: %s", x.what, x.status, err, clip(x.body))
	}
	obj, _ := v.(map[string]any)
	msg, _ := obj["msg"].(string)
	code, _ := obj["status_code"].(float64)
	if strings.TrimSpace(msg) == "" || int(code) != x.status {
		t.Errorf("%s → %d: ErrorResponse %s; want a msg and status_code %d", x.what, x.status, clip(x.body), x.status)
	}
}

// expect sends r and requires status want.
func (w *wire) expect(t *testing.T, r request, want int) exchange {
	t.Helper()
	x := w.do(t, r)
	if x.status != want {
		t.Fatalf("%s %s → %d; want %d: %s", r.method, r.path, x.status, want, clip(x.body))
	}
	return x
}

// get GETs path and requires 200.
func (w *wire) get(t *testing.T, path string, v any) exchange {
	t.Helper()
	x := w.expect(t, request{method: http.MethodGet, path: path}, http.StatusOK)
	if v != nil {
		x.decode(t, v)
	}
	return x
}

// submit POSTs a run and returns its id.
func (w *wire) submit(t *testing.T, f *form) string {
	t.Helper()
	var id struct {
		RunID string `json:"run_id"`
	}
	w.expect(t, request{method: http.MethodPost, path: "/runs", form: f}, http.StatusOK).decode(t, &id)
	if id.RunID == "" {
		t.Fatal("POST /runs → 200 without a run_id")
	}
	return id.RunID
}

// state returns the state GET /runs/{id}/status reports.
func (w *wire) state(t *testing.T, id string) string {
	t.Helper()
	var st struct {
		RunID string `json:"run_id"`
		State string `json:"state"`
	}
	w.get(t, "/runs/"+id+"/status", &st)
	if st.RunID != id {
		t.Fatalf("the status of run %s names run %q", id, st.RunID)
	}
	return st.State
}

// waitState polls the status until it is one of want; a run that ends otherwise fails
// the test at once, with its run log.
func (w *wire) waitState(t *testing.T, id string, timeout time.Duration, want ...string) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("run %s reaches %v", id, want), func() (bool, string) {
		st := w.state(t, id)
		if slices.Contains(want, st) {
			return true, ""
		}
		if terminal(st) {
			x := w.get(t, "/runs/"+id, nil)
			t.Fatalf("run %s ended %s; want %v. Run log:\n%s", id, st, want, x.body)
		}
		return false, st
	})
}

// undeclaredStatuses lists the statuses seen that the official document does not list
// for their operation.
func (w *wire) undeclaredStatuses() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.undeclared))
	for k := range w.undeclared {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}
