package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// The embedded default, used exactly as the README shows it: `enclave server` with no
// configuration, then the Snakemake example through the CLI.
func TestEmbeddedDefaultSnakemakeExample(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	d := embeddedDeployment(t)
	srv := d.startServer()

	// No configuration at all means an in-process store and no authentication, and the
	// server says both out loud.
	for _, warning := range []string{"AUTHENTICATION IS OFF", "in-process store"} {
		if !strings.Contains(testutil.TailFile(srv.logPath, 1<<20), warning) {
			t.Errorf("the embedded default did not warn %q", warning)
		}
	}
	si := d.api.serviceInfo()
	checkServiceInfo(t, si)
	checkCounts(t, si, map[api.State]int64{})

	out := d.mustCLI("", "submit", "examples/snakemake/hello/Snakefile", "--type", "SMK", "--type-version", "1.0",
		"--params", "examples/snakemake/hello/params.json")
	id := strings.TrimSpace(out)
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("submit printed %q; want the run id alone", out)
	}
	out, errOut, code := d.cli("", "wait", id, "--timeout", runTimeout.String(), "--interval", "200ms")
	if code != 0 || !strings.Contains(out, "COMPLETE") {
		t.Fatalf("wait: exit %d, stdout %q, stderr %q; want exit 0 and COMPLETE", code, out, errOut)
	}
	if !strings.Contains(errOut, "RUNNING") {
		t.Errorf("wait showed no progress on stderr: %q", errOut)
	}
	if out := d.mustCLI("", "status", id); !strings.Contains(out, id) || !strings.Contains(out, "COMPLETE") {
		t.Errorf("status: %q", out)
	}

	var rl api.RunLog
	if err := json.Unmarshal([]byte(d.mustCLI("", "get", id, "-o", "json")), &rl); err != nil {
		t.Fatalf("get -o json: %v", err)
	}
	if got := sortedKeys(rl.Outputs); !slices.Equal(got, []string{"results/greeting.txt", "results/shout.txt"}) {
		t.Errorf("outputs %v; want results/greeting.txt and results/shout.txt", got)
	}
	if rl.RunLog.ExitCode == nil || *rl.RunLog.ExitCode != 0 || rl.RunLog.Name != "snakemake" {
		t.Errorf("run_log: name %q, exit code %v; want snakemake, 0", rl.RunLog.Name, rl.RunLog.ExitCode)
	}
	if rl.Request.WorkflowParams["name"] != "Ada" || rl.Request.WorkflowUrl != "Snakefile" {
		t.Errorf("request: %+v", rl.Request)
	}
	for file, want := range map[string]string{"greeting.txt": "Hello, Ada!\n", "shout.txt": "HELLO, ADA!\n"} {
		if b, err := os.ReadFile(d.workPath(id, "results", file)); err != nil || string(b) != want {
			t.Errorf("%s in ./enclave-data: %q, %v; want %q", file, b, err, want)
		}
	}

	var tl api.TaskListResponse
	if err := json.Unmarshal([]byte(d.mustCLI("", "tasks", id, "-o", "json")), &tl); err != nil {
		t.Fatalf("tasks -o json: %v", err)
	}
	for _, rule := range []string{"greet", "shout"} {
		i := slices.IndexFunc(tl.TaskLogs, func(x api.TaskLog) bool { return x.Name == rule })
		switch {
		case i < 0:
			t.Errorf("tasks %+v: no task for rule %s", tl.TaskLogs, rule)
		case tl.TaskLogs[i].ExitCode == nil || *tl.TaskLogs[i].ExitCode != 0:
			t.Errorf("task %s: exit code %v; want 0", rule, tl.TaskLogs[i].ExitCode)
		}
	}

	// Snakemake reports on stderr; the log endpoint serves it as text.
	body, err := d.api.readLog(id, "stderr")
	if err != nil || !strings.Contains(string(body), "rule greet") {
		t.Errorf("GET logs/stderr: %v %q; want 200 with Snakemake's report", err, body)
	}
	if out := d.mustCLI("", "logs", id, "--stderr"); out != string(body) {
		t.Errorf("run logs --stderr printed %q; want the log endpoint's text %q", out, body)
	}
	if out := d.mustCLI("", "list"); !strings.Contains(out, id) || !strings.Contains(out, "COMPLETE") {
		t.Errorf("list: %q", out)
	}
	checkNoZonePaths(t, d, id)
	checkCounts(t, d.api.serviceInfo(), map[api.State]int64{api.StateCOMPLETE: 1})
}

// checkServiceInfo checks what every deployment of the suite reports.
func checkServiceInfo(t *testing.T, si api.ServiceInfo) {
	t.Helper()
	if si.Type != (api.ServiceType{Group: "org.ga4gh", Artifact: "wes", Version: "1.1.0"}) {
		t.Errorf("type %+v; want org.ga4gh wes 1.1.0", si.Type)
	}
	if !slices.Contains(si.SupportedWesVersions, "1.1.0") || si.Version != testVersion || si.Id == "" || si.Name == "" {
		t.Errorf("service-info: wes versions %v, version %q, id %q, name %q", si.SupportedWesVersions, si.Version, si.Id, si.Name)
	}
	for typ, v := range map[string]string{"SMK": "1.0", "CWL": "v1.2"} {
		if !slices.Contains(si.WorkflowTypeVersions[typ].WorkflowTypeVersion, v) {
			t.Errorf("workflow_type_versions[%s] = %v; want it to contain %s", typ, si.WorkflowTypeVersions[typ], v)
		}
	}
	for _, e := range []string{"snakemake", "cwltool"} {
		if len(si.WorkflowEngineVersions[e].WorkflowEngineVersion) == 0 {
			t.Errorf("workflow_engine_versions[%s] is empty; the installed version was not found", e)
		}
	}
}

// checkCounts requires system_state_counts to list every WES state, with want's counts
// and 0 for the others.
func checkCounts(t *testing.T, si api.ServiceInfo, want map[api.State]int64) {
	t.Helper()
	all := []api.State{api.StateUNKNOWN, api.StateQUEUED, api.StateINITIALIZING, api.StateRUNNING, api.StatePAUSED,
		api.StateCOMPLETE, api.StateEXECUTORERROR, api.StateSYSTEMERROR, api.StateCANCELED, api.StateCANCELING, api.StatePREEMPTED}
	for _, st := range all {
		got, ok := si.SystemStateCounts[string(st)]
		if !ok || got != want[st] {
			t.Errorf("system_state_counts[%s] = %d (present %v); want %d (all: %v)", st, got, ok, want[st], si.SystemStateCounts)
		}
	}
}

// The CWL example on a real Redis: it completes, and nothing a client sees about the run
// reveals where the zone keeps it.
func TestCWLExampleOnRedis(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	d := redisDeployment(t)
	d.startServer()
	checkServiceInfo(t, d.api.serviceInfo())

	req := exampleRequest(t, "cwl/hello", "hello.cwl", "CWL", "v1.2")
	req.Tags = map[string]string{"suite": "e2e"}
	id := d.api.mustSubmit(req)
	d.api.waitState(id, runTimeout, api.StateCOMPLETE)

	checkNoZonePaths(t, d, id)

	rl := d.api.runLog(id)
	if rl.Request.Tags["suite"] != "e2e" {
		t.Errorf("tags %v; want suite=e2e", rl.Request.Tags)
	}
	for name, want := range map[string]string{"greeting": "Hello, Ada!\n", "shout": "HELLO, ADA!\n"} {
		out, _ := rl.Outputs[name].(map[string]any)
		rel, _ := out["path"].(string)
		if rel == "" || !filepath.IsLocal(rel) || out["location"] != rel {
			t.Errorf("output %s: %v; want a relative path and location", name, rl.Outputs[name])
			continue
		}
		if b, err := os.ReadFile(d.workPath(id, filepath.FromSlash(rel))); err != nil || string(b) != want {
			t.Errorf("output %s (%s): %q, %v; want %q", name, rel, b, err, want)
		}
	}
	// The configured key prefix is where the run lives in Redis.
	prefix := envValue(d.env, "ENCLAVE_REDIS_KEY_PREFIX")
	keys, err := testutil.Redis(t).Keys(t.Context(), prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Errorf("no Redis keys under the configured prefix %q (%v)", prefix, err)
	}
}

// checkNoZonePaths requires that nothing a client sees about run id (its run log and
// its tasks) shows an absolute path or where the data dir is.
func checkNoZonePaths(t *testing.T, d *deployment, id string) {
	t.Helper()
	for _, path := range []string{"/runs/" + id, "/runs/" + id + "/tasks"} {
		code, raw := d.api.get(path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, raw)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		walkStrings(doc, "", func(where, s string) {
			if strings.Contains(s, d.dataDir) || strings.Contains(s, d.dir) || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "file:") {
				t.Errorf("GET %s shows a path inside the zone at %s: %q", path, where, s)
			}
		})
	}
}

// walkStrings calls f with every string in a decoded JSON document and where it is.
func walkStrings(v any, where string, f func(where, s string)) {
	switch v := v.(type) {
	case string:
		f(where, v)
	case map[string]any:
		for k, x := range v {
			f(where+"/"+k+" (key)", k)
			walkStrings(x, where+"/"+k, f)
		}
	case []any:
		for i, x := range v {
			walkStrings(x, where+"/"+strconv.Itoa(i), f)
		}
	}
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
