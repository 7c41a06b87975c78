package compat

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/wes"
)

// runTimeout bounds one example run (each takes a few seconds).
const runTimeout = 40 * time.Second

// Enclave's states are the official State enum, in its order.
func TestStatesAreTheOfficialEnum(t *testing.T) {
	s := loadSpec(t, officialSpecPath(t), "")
	var ours []string
	for _, st := range wes.AllStates {
		ours = append(ours, string(st))
	}
	if official := s.stateEnum(t); !slices.Equal(ours, official) {
		t.Errorf("wes.AllStates = %v; the official State enum is %v", ours, official)
	}
}

// A real Enclave, driven the way WES clients drive it, answers every operation of the
// official document with what its schema says, for successes and errors alike.
func TestWireCompatibility(t *testing.T) {
	requireEngines(t, "snakemake", "cwltool")
	specPath := officialSpecPath(t)
	w := newWire(t, specPath, startEnclave(t))

	var si serviceInfo
	t.Run("service-info", func(t *testing.T) { si = checkServiceInfo(t, w) })
	smkVersions := si.WorkflowEngineVersions["snakemake"].Versions
	if len(smkVersions) == 0 {
		t.Fatal("service-info lists no snakemake version to submit with")
	}

	// The Snakemake example as a client generated from the official document sends it,
	// with every optional field; the CWL example exactly as the Python wes-service client
	// sends it (wes_client.util.build_wes_request: no tags, no engine, and no part with a
	// Content-Type); and a long Snakemake run to cancel.
	smkParams := decodeJSON(t, example(t, "snakemake", "hello", "params.json"))
	smkTags := map[string]any{"suite": "compat", "client": "official spec"}
	smkSent := map[string]string{"workflow_type": "SMK", "workflow_type_version": "1.0", "workflow_url": "Snakefile",
		"workflow_engine": "snakemake", "workflow_engine_version": smkVersions[0]}
	smkForm := newForm(specClient).jsonField(t, "workflow_params", smkParams)
	for _, k := range []string{"workflow_type", "workflow_type_version", "workflow_url", "workflow_engine", "workflow_engine_version"} {
		smkForm.field(k, smkSent[k])
	}
	smkForm.jsonField(t, "tags", smkTags).
		jsonField(t, "workflow_engine_parameters", map[string]string{"cores": "1"}).
		attach("Snakefile", example(t, "snakemake", "hello", "Snakefile"))
	smk := w.submit(t, smkForm)

	cwlParamsText := example(t, "cwl", "hello", "params.json")
	cwlSent := map[string]string{"workflow_type": "CWL", "workflow_type_version": "v1.2", "workflow_url": "hello.cwl"}
	cwl := w.submit(t, newForm(wesServiceClient).
		field("workflow_params", mustJSON(t, decodeJSON(t, cwlParamsText))).
		field("workflow_type", "CWL").field("workflow_type_version", "v1.2").
		attach("hello.cwl", example(t, "cwl", "hello", "hello.cwl")).
		field("workflow_url", "hello.cwl"))

	sleeper := w.submit(t, newForm(specClient).
		field("workflow_type", "SMK").field("workflow_type_version", "1.0").field("workflow_url", "Snakefile").
		jsonField(t, "tags", map[string]string{"purpose": "cancel"}).
		attach("Snakefile", "rule all:\n    shell: \"sleep 30\"\n"))

	t.Run("errors", func(t *testing.T) { checkErrors(t, w, smk) })

	t.Run("cancel", func(t *testing.T) {
		w.waitState(t, sleeper, runTimeout, "RUNNING")
		w.get(t, "/runs/"+sleeper, nil) // a running run's log
		w.expect(t, request{method: http.MethodPost, path: "/runs/" + sleeper + "/cancel"}, http.StatusOK)
		w.waitState(t, sleeper, runTimeout, "CANCELED")
		// Cancelling a finished run changes nothing and still answers RunId.
		w.expect(t, request{method: http.MethodPost, path: "/runs/" + sleeper + "/cancel"}, http.StatusOK)
		checkRunLog(t, w, sleeper, "CANCELED", nil, map[string]any{}, map[string]any{"purpose": "cancel"})
	})

	t.Run("snakemake run", func(t *testing.T) {
		w.waitState(t, smk, runTimeout, "COMPLETE")
		checkRunLog(t, w, smk, "COMPLETE", smkSent, smkParams, smkTags)
		if ids := taskIDs(t, w, smk); len(ids) < 2 {
			t.Errorf("tasks of the Snakemake example: %v; want one per rule (greet, shout)", ids)
		}
	})
	t.Run("cwl run", func(t *testing.T) {
		w.waitState(t, cwl, runTimeout, "COMPLETE")
		checkRunLog(t, w, cwl, "COMPLETE", cwlSent, decodeJSON(t, cwlParamsText), nil)
		if ids := taskIDs(t, w, cwl); len(ids) < 2 {
			t.Errorf("tasks of the CWL example: %v; want one per step (greet, capitalise)", ids)
		}
	})

	t.Run("list runs", func(t *testing.T) {
		runs := listRuns(t, w)
		want := map[string]map[string]any{smk: smkTags, cwl: {}, sleeper: {"purpose": "cancel"}}
		seen := map[string]int{}
		for _, r := range runs {
			id, _ := r["run_id"].(string)
			seen[id]++
			if tags, ok := want[id]; ok && mustJSON(t, r["tags"]) != mustJSON(t, tags) {
				t.Errorf("GET /runs: run %s has tags %v; submitted with %v", id, r["tags"], tags)
			}
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("GET /runs paged: run %s listed %d times; want once", id, seen[id])
			}
		}
		if len(runs) != len(want) {
			t.Errorf("GET /runs paged: %d runs; this server has %d", len(runs), len(want))
		}
	})

	t.Run("service-info counts", func(t *testing.T) {
		si := checkServiceInfo(t, w)
		for st, n := range map[string]int64{"COMPLETE": 2, "CANCELED": 1} {
			if si.SystemStateCounts[st] != n {
				t.Errorf("system_state_counts[%s] = %d; want %d", st, si.SystemStateCounts[st], n)
			}
		}
	})

	if u := w.undeclaredStatuses(); len(u) > 0 {
		t.Logf("statuses the official document does not list for their operation (their bodies were checked as ErrorResponse): %s",
			strings.Join(u, "; "))
	}
}

// checkErrors sends requests Enclave must refuse and requires the status and an
// official ErrorResponse. Every request but the one marked specInvalid is one the
// official document allows: the refusal is the server's, not the schema's.
func checkErrors(t *testing.T, w *wire, runID string) {
	unknown := uuid.NewString()
	smk := func(style clientStyle) *form {
		return newForm(style).field("workflow_type", "SMK").field("workflow_type_version", "1.0").
			field("workflow_url", "Snakefile").attach("Snakefile", "rule all:\n    shell: \"true\"\n")
	}
	for _, tc := range []struct {
		name string
		req  request
		want int
	}{
		{"log of an unknown run", request{method: http.MethodGet, path: "/runs/" + unknown}, http.StatusNotFound},
		{"status of an unknown run", request{method: http.MethodGet, path: "/runs/" + unknown + "/status"}, http.StatusNotFound},
		{"status of a malformed run id", request{method: http.MethodGet, path: "/runs/no-such-run/status"}, http.StatusNotFound},
		{"tasks of an unknown run", request{method: http.MethodGet, path: "/runs/" + unknown + "/tasks"}, http.StatusNotFound},
		{"unknown task of a run", request{method: http.MethodGet, path: "/runs/" + runID + "/tasks/no-such-task"}, http.StatusNotFound},
		{"task of an unknown run", request{method: http.MethodGet, path: "/runs/" + unknown + "/tasks/1"}, http.StatusNotFound},
		{"cancel an unknown run", request{method: http.MethodPost, path: "/runs/" + unknown + "/cancel"}, http.StatusNotFound},
		{"list runs with a forged page_token", request{method: http.MethodGet, path: "/runs?page_token=forged"}, http.StatusBadRequest},
		{"list runs with page_size 0", request{method: http.MethodGet, path: "/runs?page_size=0"}, http.StatusBadRequest},
		{"list runs with page_size not an integer", request{method: http.MethodGet, path: "/runs?page_size=ten", specInvalid: true}, http.StatusBadRequest},
		{"submit a form field the official document does not define", request{method: http.MethodPost, path: "/runs",
			form: smk(specClient).field("workflow_name", "hello"), specInvalid: true}, http.StatusBadRequest},
		{"tasks with page_size 0", request{method: http.MethodGet, path: "/runs/" + runID + "/tasks?page_size=0"}, http.StatusBadRequest},
		{"submit without workflow_type", request{method: http.MethodPost, path: "/runs", form: newForm(specClient).
			field("workflow_type_version", "1.0").field("workflow_url", "Snakefile").
			attach("Snakefile", "rule all:\n    shell: \"true\"\n")}, http.StatusBadRequest},
		{"submit workflow_params that are not JSON", request{method: http.MethodPost, path: "/runs",
			form: smk(wesServiceClient).field("workflow_params", "{name: Ada")}, http.StatusBadRequest},
		{"submit workflow_params that are a JSON array", request{method: http.MethodPost, path: "/runs",
			form: smk(specClient).field("workflow_params", `["Ada"]`)}, http.StatusBadRequest},
		{"submit tags whose values are not strings", request{method: http.MethodPost, path: "/runs",
			form: smk(specClient).field("tags", `{"n": 1}`)}, http.StatusBadRequest},
		{"submit an unknown engine parameter", request{method: http.MethodPost, path: "/runs",
			form: smk(wesServiceClient).field("workflow_engine_parameters", `{"no-such-flag": "1"}`)}, http.StatusBadRequest},
		{"submit a workflow_url that names no attachment", request{method: http.MethodPost, path: "/runs",
			form: newForm(wesServiceClient).field("workflow_type", "SMK").field("workflow_type_version", "1.0").
				field("workflow_url", "Snakefile")}, http.StatusBadRequest},
		{"submit an unsupported workflow type", request{method: http.MethodPost, path: "/runs",
			form: newForm(specClient).field("workflow_type", "WDL").field("workflow_type_version", "1.0").
				field("workflow_url", "main.wdl").attach("main.wdl", "version 1.0\n")}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) { w.expect(t, tc.req, tc.want) })
	}
}
