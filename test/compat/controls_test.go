package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// The checks of the wire test are only worth something if they can fail: these controls
// feed the official document bodies that break it, and bodies that keep it.
func TestOfficialSchemasRefuseBrokenBodies(t *testing.T) {
	s := loadSpec(t, officialSpecPath(t), "")
	serviceInfo := func(edit func(map[string]any)) string {
		si := map[string]any{
			"id": "org.example.wes", "name": "x", "version": "1",
			"type":                               map[string]any{"group": "org.ga4gh", "artifact": "wes", "version": "1.1.0"},
			"organization":                       map[string]any{"name": "o", "url": "https://example.org"},
			"workflow_type_versions":             map[string]any{},
			"supported_wes_versions":             []any{"1.1.0"},
			"supported_filesystem_protocols":     []any{},
			"workflow_engine_versions":           map[string]any{},
			"default_workflow_engine_parameters": []any{},
			"system_state_counts":                map[string]any{},
			"auth_instructions_url":              "",
			"tags":                               map[string]any{},
		}
		if edit != nil {
			edit(si)
		}
		b, _ := json.Marshal(si)
		return string(b)
	}
	for _, tc := range []struct {
		name, schema, body string
		ok                 bool
	}{
		{"a RunSummary with tags", "RunSummary", `{"run_id": "r", "state": "QUEUED", "tags": {}}`, true},
		{"a RunSummary without tags", "RunSummary", `{"run_id": "r", "state": "QUEUED"}`, false},
		{"a RunSummary with tags null", "RunSummary", `{"run_id": "r", "tags": null}`, false},
		{"a state outside the enum", "RunStatus", `{"run_id": "r", "state": "DONE"}`, false},
		{"a RunStatus without run_id", "RunStatus", `{"state": "QUEUED"}`, false},
		{"a full ServiceInfo", "ServiceInfo", serviceInfo(nil), true},
		{"a ServiceInfo without type", "ServiceInfo", serviceInfo(func(m map[string]any) { delete(m, "type") }), false},
		{"a ServiceInfo without organization", "ServiceInfo", serviceInfo(func(m map[string]any) { delete(m, "organization") }), false},
		{"a ServiceInfo without tags", "ServiceInfo", serviceInfo(func(m map[string]any) { delete(m, "tags") }), false},
		{"a ServiceInfo whose organization url is no URI", "ServiceInfo", serviceInfo(func(m map[string]any) {
			m["organization"] = map[string]any{"name": "o", "url": "example.org"}
		}), false},
		{"a TaskLog", "TaskLog", `{"id": "1", "name": "greet", "exit_code": 0}`, true},
		{"a TaskLog without name", "TaskLog", `{"id": "1"}`, false},
		{"a TaskListResponse with task_logs null", "TaskListResponse", `{"task_logs": null}`, false},
		{"an ErrorResponse", "ErrorResponse", `{"msg": "no", "status_code": 404}`, true},
		{"an ErrorResponse with a string status_code", "ErrorResponse", `{"msg": "no", "status_code": "404"}`, false},
		{"a RunLog whose request lacks workflow_url", "RunLog", `{"run_id": "r", "request": {"workflow_type": "CWL", "workflow_type_version": "v1.2"}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.body), &v); err != nil {
				t.Fatal(err)
			}
			err := s.visit(t, tc.schema, v)
			if tc.ok && err != nil {
				t.Errorf("the official %s refuses %s: %v", tc.schema, tc.body, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("the official %s accepts %s", tc.schema, tc.body)
			}
		})
	}
}

// The response check of the wire test goes through the operation and status: a body
// that breaks the operation's schema, or that is not JSON, is refused.
func TestOfficialResponseCheckRefusesBrokenAnswers(t *testing.T) {
	s := loadSpec(t, officialSpecPath(t), "127.0.0.1:1")
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:1"+apiBase+"/runs/r1/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		t.Fatalf("GET /runs/{run_id}/status is not found through the official servers entry: %v", err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: s.opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		t.Fatalf("the request: %v", err)
	}
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		ok                      bool
	}{
		{"a RunStatus", "application/json; charset=utf-8", `{"run_id": "r1", "state": "RUNNING"}`, 200, true},
		{"a state outside the enum", "application/json", `{"run_id": "r1", "state": "DONE"}`, 200, false},
		{"a text body", "text/plain", `RUNNING`, 200, false},
		{"a 404 ErrorResponse", "application/json", `{"msg": "run r1 was not found", "status_code": 404}`, 404, true},
		{"a 404 whose status_code is text", "application/json", `{"msg": "gone", "status_code": "404"}`, 404, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in, Status: tc.status, Header: http.Header{"Content-Type": {tc.contentType}},
				Body: io.NopCloser(bytes.NewReader([]byte(tc.body))), Options: s.opts,
			})
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok && err == nil {
				t.Error("accepted")
			}
		})
	}
}
