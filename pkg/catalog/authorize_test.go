package catalog_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/wes"
)

var (
	alice = &wes.Principal{Subject: "alice", Groups: []string{"team-a"}, Roles: []string{wes.RoleResearcher}}
	bob   = &wes.Principal{Subject: "bob", Groups: []string{"team-b"}}
	carol = &wes.Principal{Subject: "carol", Roles: []string{wes.RoleResearcher}}
	admin = &wes.Principal{Subject: "root", Roles: []string{wes.RoleAdmin, wes.RoleDataController}}
)

func TestAuthorize(t *testing.T) {
	c, zone := mustLoad(t)
	tests := []struct {
		name     string
		p        *wes.Principal
		workflow string
		params   string
		code     string   // "" = allowed
		cause    error    // for EFORBIDDEN: ErrUnknown or ErrNotAllowed
		want     []string // substrings of the message
	}{
		// Who may run what.
		{name: "group member", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a"}`},
		{name: "other group's workflow", p: alice, workflow: "wf-b", params: `{}`, code: wes.EFORBIDDEN, cause: catalog.ErrNotAllowed,
			want: []string{`you may not run workflow "wf-b": it is not one of the catalogue workflows available to you`}},
		{name: "unknown workflow looks the same", p: alice, workflow: "wf-zzz", params: `{}`, code: wes.EFORBIDDEN, cause: catalog.ErrUnknown,
			want: []string{`you may not run workflow "wf-zzz": it is not one of the catalogue workflows available to you`}},
		{name: "policy rule by role", p: carol, workflow: "wf-open", params: `{"cohort": "ds-open"}`},
		{name: "role without grant", p: carol, workflow: "wf-a", params: `{"cohort": "ds-a"}`, code: wes.EFORBIDDEN, cause: catalog.ErrNotAllowed},
		{name: "admins are denied by default", p: admin, workflow: "wf-a", params: `{"cohort": "ds-a"}`, code: wes.EFORBIDDEN, cause: catalog.ErrNotAllowed},
		{name: "no principal", p: nil, workflow: "wf-a", params: `{}`, code: wes.EUNAUTHORIZED},
		{name: "malformed id", p: alice, workflow: "https://evil.example/x.smk", params: `{}`, code: wes.EINVALID,
			want: []string{`workflow_url: "https://evil.example/x.smk" is not a catalogue workflow id`}},
		{name: "empty id", p: alice, workflow: "", params: `{}`, code: wes.EINVALID, want: []string{"workflow_url: required"}},
		{name: "schema of a hidden entry stays hidden", p: bob, workflow: "wf-a", params: `{"nope": 1}`, code: wes.EFORBIDDEN, cause: catalog.ErrNotAllowed},

		// Datasets.
		{name: "other group's dataset", p: alice, workflow: "wf-a", params: `{"cohort": "ds-b"}`, code: wes.EFORBIDDEN, cause: catalog.ErrNotAllowed,
			want: []string{`workflow_params.cohort: you may not use dataset "ds-b" (it does not exist or is not shared with you)`}},
		{name: "unknown dataset looks the same", p: alice, workflow: "wf-a", params: `{"cohort": "ds-zzz"}`, code: wes.EFORBIDDEN, cause: catalog.ErrUnknown,
			want: []string{`workflow_params.cohort: you may not use dataset "ds-zzz" (it does not exist or is not shared with you)`}},
		{name: "one forbidden in a list", p: bob, workflow: "wf-b", params: `{"cohort": "ds-b", "dirs": ["ds-dir", "ds-a"]}`,
			code: wes.EFORBIDDEN, cause: catalog.ErrNotAllowed, want: []string{`workflow_params.dirs[1]: you may not use dataset "ds-a"`}},
		{name: "dataset list", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "cohorts": ["ds-dir", "ds-a"]}`},

		// Params against the schema, naming the field.
		{name: "missing required", p: alice, workflow: "wf-a", params: `{}`, code: wes.EINVALID, want: []string{"workflow_params.cohort: is required"}},
		{name: "wrong type", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "sample": 12}`, code: wes.EINVALID,
			want: []string{"workflow_params.sample: must be string, not number"}},
		{name: "pattern", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "sample": "X1"}`, code: wes.EINVALID,
			want: []string{"workflow_params.sample: must be a string matching ^S[0-9]+$"}},
		{name: "enum", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "mode": "turbo"}`, code: wes.EINVALID,
			want: []string{`workflow_params.mode: must be one of "fast", "slow"`}},
		{name: "range", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "count": 11}`, code: wes.EINVALID,
			want: []string{"workflow_params.count: must be at most 10"}},
		{name: "unknown param", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "outdir": "x"}`, code: wes.EINVALID,
			want: []string{"workflow_params.outdir: is not a parameter of this workflow"}},
		{name: "nested type", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "opts": {"note": []}}`, code: wes.EINVALID,
			want: []string{"workflow_params.opts.note: must be string, not array"}},
		{name: "every problem at once", p: alice, workflow: "wf-a", params: `{"sample": "X", "count": 0, "label": "/etc/passwd"}`, code: wes.EINVALID,
			want: []string{"workflow_params.cohort: is required", "workflow_params.sample: must be a string matching",
				"workflow_params.count: must be at least 1", "workflow_params.label: looks like a file path"}},
		{name: "not an object", p: alice, workflow: "wf-a", params: `["ds-a"]`, code: wes.EINVALID, want: []string{"workflow_params must be a JSON object"}},
		{name: "not JSON", p: alice, workflow: "wf-a", params: `{"cohort": `, code: wes.EINVALID, want: []string{"workflow_params must be a JSON object"}},

		// Raw paths and URLs never pass for inputs.
		{name: "dataset as absolute path", p: alice, workflow: "wf-a", params: `{"cohort": "/etc/passwd"}`, code: wes.EINVALID,
			want: []string{"workflow_params.cohort: must be a dataset id (1 to 64 of a-z 0-9 . _ -), never a path or URL"}},
		{name: "dataset as relative path", p: alice, workflow: "wf-a", params: `{"cohort": "../x"}`, code: wes.EINVALID,
			want: []string{"workflow_params.cohort: must be a dataset id"}},
		{name: "dataset as file URL", p: alice, workflow: "wf-a", params: `{"cohort": "file:///x"}`, code: wes.EINVALID,
			want: []string{"workflow_params.cohort: must be a dataset id"}},
		{name: "dataset list with a path", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "cohorts": ["ds-a", "../../data/b.csv"]}`,
			code: wes.EINVALID, want: []string{"workflow_params.cohorts[1]: must be a dataset id"}},
		{name: "plain string absolute", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "label": "/etc/passwd"}`, code: wes.EINVALID,
			want: []string{"workflow_params.label: looks like a file path or URL; inputs refer to datasets by id, never by path"}},
		{name: "plain string dot-dot", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "label": "../x"}`, code: wes.EINVALID,
			want: []string{"workflow_params.label: looks like a file path"}},
		{name: "plain string inner dot-dot", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "label": "results/../../etc"}`, code: wes.EINVALID,
			want: []string{"workflow_params.label: looks like a file path"}},
		{name: "plain string file URL", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "label": "file:///x"}`, code: wes.EINVALID,
			want: []string{"workflow_params.label: looks like a file path"}},
		{name: "plain string s3 URL", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "label": "s3://bucket/key"}`, code: wes.EINVALID,
			want: []string{"workflow_params.label: looks like a file path"}},
		{name: "plain string home", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "label": "~root/.ssh"}`, code: wes.EINVALID,
			want: []string{"workflow_params.label: looks like a file path"}},
		{name: "nested string path", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "opts": {"note": "/etc/shadow"}}`, code: wes.EINVALID,
			want: []string{"workflow_params.opts.note: looks like a file path"}},
		{name: "path allowed by a schema pattern", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "ref": "/refs/hg"}`},
		{name: "harmless strings pass", p: alice, workflow: "wf-a", params: `{"cohort": "ds-a", "label": "a.b/c d..e", "sample": "S12"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Authorize(tt.p, tt.workflow, json.RawMessage(tt.params))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				if res.Entry.ID != tt.workflow {
					t.Errorf("entry = %s", res.Entry.ID)
				}
				return
			}
			if !wes.IsCode(err, tt.code) {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("err = %v, want cause %v", err, tt.cause)
			}
			msg := wes.ErrorMessage(err)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			assertNoZonePath(t, msg, zone)
			assertNoZonePath(t, err.Error(), zone)
		})
	}
}

// The runner's params: dataset ids become the datasets' paths (CWL: File/Directory
// objects); everything else is unchanged, numbers included.
func TestAuthorizeRewrite(t *testing.T) {
	c, zone := mustLoad(t)
	data := filepath.Join(zone, "data")
	res, err := c.Authorize(alice, "wf-a", json.RawMessage(`{"cohort": "ds-a", "cohorts": ["ds-dir", "ds-a"], "count": 3, "label": "x"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(res.Params, &got); err != nil {
		t.Fatal(err)
	}
	if got["cohort"] != filepath.Join(data, "a.csv") || got["count"] != 3.0 || got["label"] != "x" {
		t.Errorf("params = %s", res.Params)
	}
	if l := got["cohorts"].([]any); len(l) != 2 || l[0] != filepath.Join(data, "dir") || l[1] != filepath.Join(data, "a.csv") {
		t.Errorf("cohorts = %v", got["cohorts"])
	}
	if !slices.Equal(res.DatasetIDs, []string{"ds-a", "ds-dir"}) || res.Datasets["ds-dir"] != filepath.Join(data, "dir") || len(res.Datasets) != 2 {
		t.Errorf("datasets = %v %v", res.DatasetIDs, res.Datasets)
	}

	res, err = c.Authorize(bob, "wf-b", json.RawMessage(`{"cohort": "ds-b", "dirs": ["ds-dir"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var cwl struct {
		Cohort map[string]string   `json:"cohort"`
		Dirs   []map[string]string `json:"dirs"`
	}
	if err := json.Unmarshal(res.Params, &cwl); err != nil {
		t.Fatal(err)
	}
	if cwl.Cohort["class"] != "File" || cwl.Cohort["path"] != filepath.Join(data, "b.csv") ||
		cwl.Dirs[0]["class"] != "Directory" || cwl.Dirs[0]["path"] != filepath.Join(data, "dir") {
		t.Errorf("CWL params = %s", res.Params)
	}

	// The runner re-resolves the stored client params the same way.
	params, ds, err := c.ResolveParams("wf-b", json.RawMessage(`{"cohort": "ds-b", "dirs": ["ds-dir"]}`))
	if err != nil || string(params) != string(res.Params) || len(ds) != 2 {
		t.Errorf("ResolveParams = %s, %v, %v; want %s", params, ds, err, res.Params)
	}
	if _, _, err := c.ResolveParams("wf-gone", nil); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("ResolveParams of an unknown workflow: %v", err)
	}
	if _, _, err := c.ResolveParams("wf-b", json.RawMessage(`{"cohort": "ds-gone"}`)); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("ResolveParams of an unknown dataset: %v", err)
	}

	// Logging a Resolved whole shows ids, never paths.
	if v := res.LogValue().String(); strings.Contains(v, zone) || !strings.Contains(v, "ds-b") {
		t.Errorf("LogValue = %s", v)
	}
}

func TestVisible(t *testing.T) {
	c, zone := mustLoad(t)
	ids := func(p *wes.Principal) (ws, ds []string) {
		for _, s := range c.Visible(p) {
			ws = append(ws, s.ID)
		}
		for _, d := range c.VisibleDatasets(p) {
			ds = append(ds, d.ID)
		}
		return ws, ds
	}
	for _, tt := range []struct {
		p      *wes.Principal
		ws, ds []string
	}{
		{alice, []string{"wf-a", "wf-open"}, []string{"ds-a", "ds-dir", "ds-open"}}, // alice is a researcher too
		{bob, []string{"wf-b"}, []string{"ds-b", "ds-dir"}},
		{carol, []string{"wf-open"}, []string{"ds-open"}},
		{admin, nil, nil},
		{nil, nil, nil},
	} {
		ws, ds := ids(tt.p)
		if !slices.Equal(ws, tt.ws) || !slices.Equal(ds, tt.ds) {
			t.Errorf("%v sees %v and %v, want %v and %v", tt.p, ws, ds, tt.ws, tt.ds)
		}
	}
	all, _ := json.Marshal([]any{c.Visible(alice), c.VisibleDatasets(alice), c.Visible(bob), c.VisibleDatasets(bob)})
	assertNoZonePath(t, string(all), zone)
	s := c.Visible(alice)[0]
	if s.Name != "Workflow A" || s.Version != "1.0" || s.WorkflowType != "SMK" || s.WorkflowTypeVersion != "1.0" ||
		!strings.Contains(string(s.ParamsSchema), `"x-enclave-dataset":true`) {
		t.Errorf("summary = %+v", s)
	}
}

func TestEngineParams(t *testing.T) {
	c, _ := mustLoad(t)
	for _, tt := range []struct {
		params map[string]string
		want   string // "" = accepted
	}{
		{nil, ""},
		{map[string]string{"keep-going": "true"}, ""},
		{map[string]string{"cores": "1"}, ""},
		{map[string]string{"cores": "4"}, `workflow_engine_parameters: cores is fixed to "1" for workflow wf-a`},
		{map[string]string{"rerun-incomplete": "true", "zzz": "1"}, `workflow_engine_parameters: "rerun-incomplete", "zzz" not allowed for workflow wf-a; allowed: cores, keep-going`},
	} {
		err := c.CheckEngineParams("wf-a", tt.params)
		if (tt.want == "") != (err == nil) || (err != nil && (!wes.IsCode(err, wes.EINVALID) || wes.ErrorMessage(err) != tt.want)) {
			t.Errorf("CheckEngineParams(%v) = %v, want %q", tt.params, err, tt.want)
		}
	}
	if err := c.CheckEngineParams("wf-b", map[string]string{"parallel": "true"}); !wes.IsCode(err, wes.EINVALID) ||
		!strings.Contains(wes.ErrorMessage(err), "allowed: none") {
		t.Errorf("wf-b allows no engine params: %v", err)
	}
	if err := c.CheckEngineParams("nope", nil); !wes.IsCode(err, wes.EINVALID) {
		t.Errorf("unknown workflow: %v", err)
	}
	e, _ := c.Entry("wf-a")
	got := e.EngineParameters(map[string]string{"keep-going": "true"})
	if len(got) != 2 || got["cores"] != "1" || got["keep-going"] != "true" {
		t.Errorf("EngineParameters = %v", got)
	}
}

func TestCheckRequest(t *testing.T) {
	c, _ := mustLoad(t)
	e, _ := c.Entry("wf-b")
	for _, tt := range []struct {
		req  wes.RunRequest
		want string
	}{
		{wes.RunRequest{}, ""},
		{wes.RunRequest{WorkflowType: "CWL", WorkflowTypeVersion: "v1.2", WorkflowEngine: "cwltool", WorkflowEngineVersion: "3.1"}, ""},
		{wes.RunRequest{WorkflowType: "SMK"}, `workflow_type: workflow wf-b uses "CWL", not "SMK"`},
		{wes.RunRequest{WorkflowTypeVersion: "v1.0"}, `workflow_type_version: workflow wf-b uses "v1.2"`},
		{wes.RunRequest{WorkflowEngine: "toil"}, `workflow_engine: workflow wf-b uses "cwltool"`},
		{wes.RunRequest{Attachments: []string{"evil.cwl"}}, "workflow_attachment: catalogue workflows take no attachments"},
		{wes.RunRequest{WorkflowEngineParameters: map[string]string{"parallel": "true"}}, "not allowed for workflow wf-b"},
	} {
		err := e.CheckRequest(tt.req)
		if (tt.want == "") != (err == nil) || (err != nil && (!wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.want))) {
			t.Errorf("CheckRequest(%+v) = %v, want %q", tt.req, err, tt.want)
		}
	}
}
