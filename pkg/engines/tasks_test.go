package engines_test

import (
	"context"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

func TestScreenTasks(t *testing.T) {
	tasks := []wes.Task{
		{ID: "1", Name: "align"},
		{ID: "patient 4711, 1961-02-03", Name: "patient 4711, 1961-02-03"},
		{ID: "3", Name: "rule from the data"},
		{ID: "task-2", Name: ""}, // a real id that looks like an opaque one
		{ID: "1", Name: "align"}, // a duplicate id
	}
	declared := map[string]bool{"align": true}
	got := engines.ScreenTasks(tasks, engines.NumericID, func(n string) (string, bool) { return n, declared[n] })
	want := []wes.Task{{ID: "1", Name: "align"}, {ID: "task-2"}, {ID: "3"}, {ID: "task-4"}, {ID: "task-5", Name: "align"}}
	if len(got) != len(want) {
		t.Fatalf("ScreenTasks = %+v", got)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Name != want[i].Name {
			t.Errorf("task %d = %q %q, want %q %q", i, got[i].ID, got[i].Name, want[i].ID, want[i].Name)
		}
	}
	if tasks[1].ID != "patient 4711, 1961-02-03" {
		t.Error("ScreenTasks changed its input")
	}
}

// rawEngine reports tasks as its engine output says, and has no SafeTasks.
type rawEngine struct{ tasks []wes.Task }

func (rawEngine) Name() string                  { return "raw" }
func (rawEngine) WorkflowType() string          { return "RAW" }
func (rawEngine) TypeVersions() []string        { return []string{"1"} }
func (rawEngine) Versions() []string            { return []string{"1"} }
func (rawEngine) Parameters() []wes.EngineParam { return nil }
func (rawEngine) Prepare(context.Context, wes.PrepareInput) (*wes.Job, error) {
	return nil, nil
}
func (e rawEngine) Tasks(context.Context, string) ([]wes.Task, error) { return e.tasks, nil }
func (rawEngine) Outputs(context.Context, string) (map[string]any, error) {
	return nil, nil
}

// An engine that cannot say which names its workflow declares shows none.
func TestTasksWithoutSafeTasks(t *testing.T) {
	e := rawEngine{tasks: []wes.Task{{ID: "7", Name: "greet"}, {ID: "row 1", Name: "row 1"}}}
	got, err := engines.Tasks(context.Background(), e, engines.Workflow{WorkDir: t.TempDir(), Main: "main"})
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, tk := range got {
		shown = append(shown, tk.ID+"/"+tk.Name)
	}
	if strings.Join(shown, ",") != "7/,task-2/" {
		t.Errorf("tasks = %q", shown)
	}
}
