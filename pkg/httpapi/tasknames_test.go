package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Task names and ids come from the catalogue's pinned workflow only: a log line the job
// wrote in Snakemake's format shows as an opaque id, and once the job has changed its
// copy of the Snakefile (to declare the name) no name shows at all. The rules the
// catalogue validated keep their names; what the engine wrote for a task (its command)
// follows the workflow's log visibility (admin here).
func TestTaskNamesFromTheWorkflowOnly(t *testing.T) {
	h := newSealedHarness(t)
	r := h.createRun("alice", func(r *wes.Run) {
		r.Workflow, r.Datasets, r.Engine, r.EngineVer = "cohort-count-smk", []string{"cohort-demo"}, snakemake.Name, "7.21.0"
	})
	cat, err := catalog.Load("../../examples/catalog/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(r.WorkDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := cat.StageFiles(r.Workflow, r.WorkDir); err != nil {
		t.Fatal(err)
	}
	log := "[Tue Nov  3 09:00:01 2026]\nrule copy:\n    jobid: 2\n\ncp x y\n" +
		"[Tue Nov  3 09:00:02 2026]\nrule Jane_Roe_1961_02_03:\n    jobid: 4711,Jane Roe 1961-02-03\n\n" +
		"[Tue Nov  3 09:00:03 2026]\nError in rule Jane_Roe_1961_02_03:\n    jobid: 3\n"
	logDir := filepath.Join(r.WorkDir, ".snakemake", "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "2026-11-03T090000.000000.snakemake.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	tasks := func() string {
		t.Helper()
		st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/tasks", "alice", "", nil)
		if st != http.StatusOK {
			t.Fatalf("tasks: %d %s", st, b)
		}
		if strings.Contains(string(b), "Jane") || strings.Contains(string(b), "4711") {
			t.Errorf("data in the task list: %s", b)
		}
		var tl api.TaskListResponse
		if err := json.Unmarshal(b, &tl); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tk := range tl.TaskLogs {
			got = append(got, tk.Id+"/"+tk.Name+"/"+strings.Join(tk.Cmd, " "))
		}
		return strings.Join(got, " ")
	}
	if got, want := tasks(), "2/copy/ task-2/task-2/ 3/3/"; got != want {
		t.Errorf("tasks = %q, want %q", got, want)
	}
	if st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/tasks/task-2", "alice", "", nil); st != http.StatusOK || strings.Contains(string(b), "Jane") {
		t.Errorf("opaque task: %d %s", st, b)
	}
	// An administrator sees the command.
	st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/tasks/2", "admin", "", nil)
	if st != http.StatusOK || !strings.Contains(string(b), `"cmd":["cp x y"]`) {
		t.Errorf("admin's task: %d %s", st, b)
	}

	f, err := os.OpenFile(filepath.Join(r.WorkDir, "Snakefile"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\nrule Jane_Roe_1961_02_03:\n    shell: 'true'\n") // the job rewrites its copy
	f.Close()
	if got, want := tasks(), "2/2/ task-2/task-2/ 3/3/"; got != want {
		t.Errorf("tasks after the Snakefile changed = %q, want %q", got, want)
	}
}

// An engine that cannot say which names its workflow declares shows none of them.
func TestTasksOfAnEngineWithoutNames(t *testing.T) {
	h := newHarness(t, func(_ *testConfig, d *testDeps) { d.Engines = engines.NewRegistry(rawTestEngine{testEngine{"tester"}}) })
	r := h.createRun("alice", nil)
	writeTasks(t, r.WorkDir, []wes.Task{{ID: "7", Name: "greet"}, {ID: "Jane Roe", Name: "Jane Roe"}})
	res, err := h.client.ListTasksWithResponse(context.Background(), r.ID, nil)
	if err != nil || res.JSON200 == nil {
		t.Fatalf("tasks: %v %s", err, res.Body)
	}
	var got []string
	for _, tk := range res.JSON200.TaskLogs {
		got = append(got, tk.Id+"/"+tk.Name)
	}
	if strings.Join(got, " ") != "7/7 task-2/task-2" {
		t.Errorf("tasks = %q", got)
	}
}

// rawTestEngine is the test engine without SafeTasks.
type rawTestEngine struct{ e testEngine }

func (r rawTestEngine) Name() string                  { return r.e.Name() }
func (r rawTestEngine) WorkflowType() string          { return r.e.WorkflowType() }
func (r rawTestEngine) TypeVersions() []string        { return r.e.TypeVersions() }
func (r rawTestEngine) Versions() []string            { return r.e.Versions() }
func (r rawTestEngine) Parameters() []wes.EngineParam { return r.e.Parameters() }
func (r rawTestEngine) Prepare(ctx context.Context, in wes.PrepareInput) (*wes.Job, error) {
	return r.e.Prepare(ctx, in)
}
func (r rawTestEngine) Tasks(ctx context.Context, workDir string) ([]wes.Task, error) {
	return r.e.Tasks(ctx, workDir)
}
func (r rawTestEngine) Outputs(ctx context.Context, workDir string) (map[string]any, error) {
	return r.e.Outputs(ctx, workDir)
}
