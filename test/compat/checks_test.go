package compat

import (
	"encoding/json"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// wesTime is the time format the official document gives in its descriptions:
// "%Y-%m-%dT%H:%M:%SZ".
var wesTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)

// checkTimes requires every named time field of obj that is set to be in the WES format.
func checkTimes(t *testing.T, what string, obj map[string]any, fields ...string) {
	t.Helper()
	for _, f := range fields {
		v, ok := obj[f]
		if !ok {
			continue
		}
		if s, _ := v.(string); !wesTime.MatchString(s) {
			t.Errorf("%s: %s is %v; the official document describes it as \"%%Y-%%m-%%dT%%H:%%M:%%SZ\"", what, f, v)
		}
	}
}

// serviceInfo is the part of GET /service-info the suite checks beyond the schema.
type serviceInfo struct {
	Type struct {
		Group    string `json:"group"`
		Artifact string `json:"artifact"`
		Version  string `json:"version"`
	} `json:"type"`
	Organization struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"organization"`
	SupportedWESVersions []string `json:"supported_wes_versions"`
	WorkflowTypeVersions map[string]struct {
		Versions []string `json:"workflow_type_version"`
	} `json:"workflow_type_versions"`
	WorkflowEngineVersions map[string]struct {
		Versions []string `json:"workflow_engine_version"`
	} `json:"workflow_engine_versions"`
	SystemStateCounts map[string]int64 `json:"system_state_counts"`
}

// checkServiceInfo GETs /service-info (checked against the official ServiceInfo) and
// checks what the schema cannot: the GA4GH service type of WES 1.1.0, the organization,
// and a state count under every official State and nothing else.
func checkServiceInfo(t *testing.T, w *wire) serviceInfo {
	t.Helper()
	var si serviceInfo
	x := w.get(t, "/service-info", &si)
	var raw any
	x.decode(t, &raw)
	if err := w.spec.visit(t, "ServiceInfo", raw); err != nil {
		t.Errorf("service-info is not an official ServiceInfo: %v", err)
	}
	if si.Type.Group != "org.ga4gh" || si.Type.Artifact != "wes" || si.Type.Version != "1.1.0" {
		t.Errorf("service-info type %+v; want org.ga4gh / wes / 1.1.0", si.Type)
	}
	if si.Organization.Name == "" || checkURI(si.Organization.URL) != nil {
		t.Errorf("service-info organization %+v; want a name and an absolute url", si.Organization)
	}
	if !slices.Contains(si.SupportedWESVersions, "1.1.0") {
		t.Errorf("supported_wes_versions %v; want 1.1.0 among them", si.SupportedWESVersions)
	}
	states := w.spec.stateEnum(t)
	if got := slices.Sorted(maps.Keys(si.SystemStateCounts)); !slices.Equal(got, slices.Sorted(slices.Values(states))) {
		t.Errorf("system_state_counts has keys %v; want exactly the official states %v", got, states)
	}
	for typ, v := range map[string]string{"SMK": "1.0", "CWL": "v1.2"} {
		if !slices.Contains(si.WorkflowTypeVersions[typ].Versions, v) {
			t.Errorf("workflow_type_versions[%s] = %v; want %s among them", typ, si.WorkflowTypeVersions[typ].Versions, v)
		}
	}
	for _, e := range []string{"snakemake", "cwltool"} {
		if len(si.WorkflowEngineVersions[e].Versions) == 0 {
			t.Errorf("workflow_engine_versions[%s] is empty", e)
		}
	}
	return si
}

// listRuns pages through GET /runs with page_size 1 and returns the runs in order. Each
// item must be an official RunSummary: the official RunListResponse also admits a bare
// RunStatus (deprecated), which would drop the required tags.
func listRuns(t *testing.T, w *wire) []map[string]any {
	t.Helper()
	var all []map[string]any
	token := ""
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("GET /runs: more than 100 pages of one run each")
		}
		var resp struct {
			Runs          []json.RawMessage `json:"runs"`
			NextPageToken string            `json:"next_page_token"`
		}
		w.get(t, "/runs?page_size=1&page_token="+url.QueryEscape(token), &resp)
		if len(resp.Runs) > 1 {
			t.Errorf("GET /runs?page_size=1 returned %d runs; the official document forbids more than page_size", len(resp.Runs))
		}
		for _, raw := range resp.Runs {
			var item map[string]any
			if err := json.Unmarshal(raw, &item); err != nil {
				t.Fatalf("GET /runs: item %s is not an object: %v", raw, err)
			}
			if err := w.spec.visit(t, "RunSummary", item); err != nil {
				t.Errorf("GET /runs: item is not an official RunSummary: %v\n%s", err, raw)
			}
			checkTimes(t, "RunSummary "+string(raw), item, "start_time", "end_time")
			all = append(all, item)
		}
		if token = resp.NextPageToken; token == "" {
			return all
		}
	}
}

// taskIDs pages through a run's tasks (page_size 1, and again in one page), fetches
// each task by id, and returns the ids.
func taskIDs(t *testing.T, w *wire, runID string) []string {
	t.Helper()
	type taskPage struct {
		TaskLogs      []map[string]any `json:"task_logs"`
		NextPageToken string           `json:"next_page_token"`
	}
	var paged []string
	token := ""
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatalf("tasks of %s: more than 100 pages", runID)
		}
		var p taskPage
		w.get(t, "/runs/"+runID+"/tasks?page_size=1&page_token="+url.QueryEscape(token), &p)
		if len(p.TaskLogs) > 1 {
			t.Errorf("tasks?page_size=1 returned %d tasks", len(p.TaskLogs))
		}
		for _, tl := range p.TaskLogs {
			id, _ := tl["id"].(string)
			paged = append(paged, id)
			checkTimes(t, "TaskLog "+id, tl, "start_time", "end_time")
		}
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	var whole taskPage
	w.get(t, "/runs/"+runID+"/tasks", &whole)
	var ids []string
	for _, tl := range whole.TaskLogs {
		id, _ := tl["id"].(string)
		ids = append(ids, id)
	}
	if !slices.Equal(paged, ids) {
		t.Errorf("tasks of %s: paged one by one %v; in one page %v", runID, paged, ids)
	}
	for _, tl := range whole.TaskLogs {
		id, _ := tl["id"].(string)
		var one map[string]any
		w.get(t, "/runs/"+runID+"/tasks/"+url.PathEscape(id), &one)
		if one["id"] != id || one["name"] != tl["name"] {
			t.Errorf("GET task %s: id %v name %v; the list says id %v name %v", id, one["id"], one["name"], id, tl["name"])
		}
	}
	return ids
}

// checkRunLog GETs a finished run's log and compares it with what was submitted.
func checkRunLog(t *testing.T, w *wire, id, state string, sent map[string]string, params, tags map[string]any) {
	t.Helper()
	var rl struct {
		RunID       string         `json:"run_id"`
		State       string         `json:"state"`
		Request     map[string]any `json:"request"`
		RunLog      map[string]any `json:"run_log"`
		TaskLogsURL string         `json:"task_logs_url"`
		Outputs     map[string]any `json:"outputs"`
	}
	w.get(t, "/runs/"+id, &rl)
	if rl.RunID != id || rl.State != state {
		t.Errorf("run log of %s: run_id %q, state %q; want %s", id, rl.RunID, rl.State, state)
	}
	for k, v := range sent {
		if rl.Request[k] != v {
			t.Errorf("run log of %s: request.%s = %v; sent %q", id, k, rl.Request[k], v)
		}
	}
	// workflow_params is not in RunRequest's required list, so an empty object may be left out.
	if got, ok := rl.Request["workflow_params"]; (ok || len(params) > 0) && mustJSON(t, got) != mustJSON(t, params) {
		t.Errorf("run log of %s: request.workflow_params = %s; sent %s", id, mustJSON(t, got), mustJSON(t, params))
	}
	if tags == nil {
		tags = map[string]any{}
	}
	if got, ok := rl.Request["tags"]; ok && mustJSON(t, got) != mustJSON(t, tags) {
		t.Errorf("run log of %s: request.tags = %v; sent %v", id, got, tags)
	}
	checkTimes(t, "run_log of "+id, rl.RunLog, "start_time", "end_time")
	if state == "COMPLETE" {
		if code, ok := rl.RunLog["exit_code"].(float64); !ok || code != 0 {
			t.Errorf("run log of %s: run_log.exit_code %v; want 0", id, rl.RunLog["exit_code"])
		}
	}
	// task_logs_url is "the complete url" of the run's task list: follow it.
	if want := w.base + "/runs/" + id + "/tasks"; rl.TaskLogsURL != want {
		t.Errorf("run log of %s: task_logs_url %q; want %q", id, rl.TaskLogsURL, want)
	} else {
		w.get(t, strings.TrimPrefix(rl.TaskLogsURL, w.base), nil)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
