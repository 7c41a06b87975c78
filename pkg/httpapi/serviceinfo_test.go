package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/openapi"
	"github.com/spe4hd/enclave/pkg/wes"
)

func TestServiceInfo(t *testing.T) {
	h := newHarness(t)
	h.submit("alice", validRun()...)
	bob := h.createRun("bob", nil)
	h.setState(bob.ID, wes.StateRunning, wes.StateComplete)

	get := func(user string) api.ServiceInfo {
		t.Helper()
		res, err := h.client.GetServiceInfoWithResponse(context.Background(), asUser(user))
		if err != nil || res.JSON200 == nil {
			t.Fatalf("service-info as %q: %v %d %s", user, err, res.StatusCode(), res.Body)
		}
		return *res.JSON200
	}
	si := get("alice")
	if si.Type != (api.ServiceType{Group: "org.ga4gh", Artifact: "wes", Version: "1.1.0"}) {
		t.Errorf("type = %+v", si.Type)
	}
	if si.Id != "org.spe4hd.enclave" || si.Name != "Enclave" || si.Version != "1.2.3" || si.Organization.Name == "" || si.Organization.Url == "" {
		t.Errorf("identity fields = %q %q %q %+v", si.Id, si.Name, si.Version, si.Organization)
	}
	if !slices.Equal(si.SupportedWesVersions, []string{"1.1.0"}) || !slices.Equal(si.SupportedFilesystemProtocols, []string{"file"}) {
		t.Errorf("versions/protocols = %v %v", si.SupportedWesVersions, si.SupportedFilesystemProtocols)
	}
	if got := si.WorkflowTypeVersions["TST"].WorkflowTypeVersion; !slices.Equal(got, []string{"1.0"}) {
		t.Errorf("workflow_type_versions = %v", si.WorkflowTypeVersions)
	}
	if got := si.WorkflowEngineVersions["tester"].WorkflowEngineVersion; !slices.Equal(got, []string{"1.2", "1.10"}) {
		t.Errorf("workflow_engine_versions = %v", si.WorkflowEngineVersions)
	}
	// The engine's own parameters, then the executor parameters every engine accepts.
	wantParams := []api.DefaultWorkflowEngineParameter{{Name: "cores", Type: "int", DefaultValue: "1"}, {Name: "mode", Type: "enum", DefaultValue: "fast"},
		{Name: "partition", Type: "string"}, {Name: "account", Type: "string"}, {Name: "qos", Type: "string"},
		{Name: "memory-mb", Type: "int"}, {Name: "time-limit", Type: "duration"}}
	if !slices.Equal(si.DefaultWorkflowEngineParameters, wantParams) {
		t.Errorf("default_workflow_engine_parameters = %v", si.DefaultWorkflowEngineParameters)
	}
	if si.Tags["auth_mode"] != "oidc" || si.Tags["site"] != "test" || si.Tags["max_page_size"] != "20" {
		t.Errorf("tags = %v", si.Tags)
	}
	if len(si.SystemStateCounts) != len(wes.AllStates) {
		t.Errorf("system_state_counts has %d states, want all %d: %v", len(si.SystemStateCounts), len(wes.AllStates), si.SystemStateCounts)
	}
	// Counts are the caller's own; bob's finished run is not alice's.
	if si.SystemStateCounts["QUEUED"] != 1 || si.SystemStateCounts["COMPLETE"] != 0 || si.SystemStateCounts["RUNNING"] != 0 {
		t.Errorf("alice's counts = %v", si.SystemStateCounts)
	}
	if c := get("admin").SystemStateCounts; c["QUEUED"] != 1 || c["COMPLETE"] != 1 {
		t.Errorf("admin's counts = %v", c)
	}

	// Public without credentials: zeros; bad credentials are still refused.
	st, body, _ := h.do(http.MethodGet, BasePath+"/service-info", "", "", nil)
	if st != http.StatusOK || !bytes.Contains(body, []byte(`"QUEUED":0`)) {
		t.Errorf("anonymous service-info: %d %s", st, body)
	}
	st, body, _ = h.do(http.MethodGet, BasePath+"/service-info", "bad", "", nil)
	errorBody(t, st, body)
	if st != http.StatusUnauthorized {
		t.Errorf("bad token: status %d", st)
	}
}

func TestServiceInfoAuthOff(t *testing.T) {
	h := newHarness(t, func(c *testConfig, d *testDeps) { c.AuthMode = ""; d.Authenticate = nil })
	h.createRun("someone", nil)
	st, body, _ := h.do(http.MethodGet, BasePath+"/service-info", "", "", nil)
	// Anonymous is an administrator when auth is off, so it counts every run.
	if st != http.StatusOK || !bytes.Contains(body, []byte(`"QUEUED":1`)) || !bytes.Contains(body, []byte(`"auth_mode":"none"`)) {
		t.Errorf("service-info with auth off: %d %s", st, body)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	h := newHarness(t)
	st, body, hdr := h.do(http.MethodGet, BasePath+"/openapi.yaml", "", "", nil)
	if st != http.StatusOK || !bytes.Equal(body, openapi.WES) || hdr.Get("Content-Type") != "application/yaml" {
		t.Errorf("openapi.yaml: %d %q, %d bytes", st, hdr.Get("Content-Type"), len(body))
	}
}

func TestHealthz(t *testing.T) {
	h := newHarness(t)
	st, body, _ := h.do(http.MethodGet, "/healthz", "", "", nil)
	if st != http.StatusOK || !bytes.Contains(body, []byte(`"ok"`)) {
		t.Errorf("healthz: %d %s", st, body)
	}
}
