package cwl_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
)

func names(m map[string]bool) string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func TestStepNames(t *testing.T) {
	l := enginetest.NewRun(t, "r1", "")
	w := l.WorkDir()
	enginetest.WriteFile(t, w, "wf/main.cwl", `cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  - id: align
    run: tools/align.cwl
    in: []
    out: []
  - id: nested
    in: []
    out: []
    run:
      class: Workflow
      inputs: []
      outputs: []
      steps:
        inner: {run: {$import: ../sub.cwl}, in: [], out: []}
  - id: remote
    run: https://example.org/tool.cwl
    in: []
    out: []
  - id: escape
    run: ../../../outside.cwl
    in: []
    out: []
`)
	enginetest.WriteFile(t, w, "wf/tools/align.cwl", "class: CommandLineTool\nid: aligner\n")
	enginetest.WriteFile(t, w, "sub.cwl", `{"class": "Workflow", "steps": {"deep": {"run": "wf/tools/align.cwl"}}}`)
	enginetest.WriteFile(t, l.Root, "outside.cwl", "class: Workflow\nsteps: {outside: {}}\n")
	wf := engines.Workflow{WorkDir: w, Main: "wf/main.cwl"}
	if got, want := names(cwl.StepNames(wf)), "align aligner deep escape inner main main.cwl nested remote"; got != want {
		t.Errorf("StepNames = %q, want %q", got, want)
	}

	enginetest.WriteFile(t, w, "packed.cwl", `{"cwlVersion": "v1.2", "$graph": [
  {"id": "#main", "class": "Workflow", "steps": [{"id": "#main/count", "run": "#tool"}]},
  {"id": "#tool", "class": "CommandLineTool"}]}`)
	if got, want := names(cwl.StepNames(engines.Workflow{WorkDir: w, Main: "packed.cwl"})), "count main packed packed.cwl tool"; got != want {
		t.Errorf("packed StepNames = %q, want %q", got, want)
	}

	// Pinned: a step file the job rewrote declares nothing.
	wf.Pins = enginetest.Pins(t, w, "wf/main.cwl", "wf/tools/align.cwl")
	enginetest.WriteFile(t, w, "wf/tools/align.cwl", "class: CommandLineTool\nid: DATA_ROW\n")
	if got := cwl.StepNames(wf); got["DATA_ROW"] || got["aligner"] || got["deep"] || !got["inner"] || !got["align"] {
		t.Errorf("pinned StepNames = %q", names(got))
	}
}

// The data row a tool prints in cwltool's format never becomes a task id or name; the
// steps of the workflow, scattered ones too, keep theirs.
func TestSafeTasksCraftedLog(t *testing.T) {
	l := enginetest.NewRun(t, "r1", exampleDir)
	log := "[2026-11-23 10:00:01] INFO [job greet] /x$ printf hi\n" +
		"[2026-11-23 10:00:02] INFO [job greet] completed success\n" +
		"[2026-11-23 10:00:02] INFO [job greet_2] completed success\n" +
		"INFO [job 4711,Jane Roe,1961-02-03] completed success\n" +
		"WARNING [step Jane_Roe] completed permanentFail\n" +
		"INFO [job greetings] completed success\n"
	if err := os.WriteFile(l.StderrPath(), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	e := cwl.New(cwl.Config{}, nil)
	wf := engines.Workflow{WorkDir: l.WorkDir(), Main: "hello.cwl", Pins: enginetest.Pins(t, l.WorkDir(), "hello.cwl")}
	tasks, err := e.SafeTasks(context.Background(), wf)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range tasks {
		got = append(got, tk.ID+"/"+tk.Name)
	}
	if want := "greet/greet greet_2/greet_2 task-3/ task-4/ task-5/"; strings.Join(got, " ") != want {
		t.Errorf("tasks = %q, want %q", got, want)
	}
}

// A real cwltool run whose tool writes a data row in cwltool's log format to its stderr:
// cwltool passes it on, its log parser takes it for a job, and SafeTasks drops it.
func TestRunPrintingData(t *testing.T) {
	data := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(data, []byte("4711,Jane Roe,1961-02-03\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	enginetest.WriteFile(t, src, "leak.cwl", `cwlVersion: v1.2
class: Workflow
inputs:
  rows: File
outputs: []
steps:
  peek:
    in: {rows: rows}
    out: []
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'echo "INFO [job $(head -n1 "$0")] completed success" >&2']
      inputs:
        rows: {type: File, inputBinding: {position: 1}}
      outputs: []
`)
	params, _ := json.Marshal(map[string]any{"rows": map[string]string{"class": "File", "path": data}})
	l, e, code := runReal(t, src, "leak.cwl", string(params), nil)
	if code != 0 {
		t.Fatalf("cwltool exited %d:\n%s", code, enginetest.Logs(l))
	}
	raw, err := e.Tasks(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(raw); !strings.Contains(string(b), "Jane") {
		t.Fatalf("the printed row did not become a raw task (%s), so the test proves nothing:\n%s", b, enginetest.Logs(l))
	}
	wf := engines.Workflow{WorkDir: l.WorkDir(), Main: "leak.cwl", Pins: enginetest.Pins(t, l.WorkDir(), "leak.cwl")}
	tasks, err := engines.Tasks(context.Background(), e, wf)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(tasks)
	if strings.Contains(string(b), "Jane") || strings.Contains(string(b), "4711") {
		t.Errorf("data in tasks: %s", b)
	}
	if len(tasks) != 2 || tasks[0].Name != "peek" || tasks[0].ID != "peek" || tasks[1].Name != "" || tasks[1].ID != "task-2" {
		t.Errorf("tasks = %s, want peek and an opaque task", b)
	}
}

// The example workflow's steps, and a single tool's file name, keep their names.
func TestRunSafeNames(t *testing.T) {
	l, e, code := runReal(t, exampleDir, "hello.cwl", `{"name": "Ada"}`, nil)
	if code != 0 {
		t.Fatalf("cwltool exited %d:\n%s", code, enginetest.Logs(l))
	}
	wf := engines.Workflow{WorkDir: l.WorkDir(), Main: "hello.cwl", Pins: enginetest.Pins(t, l.WorkDir(), "hello.cwl")}
	tasks, err := engines.Tasks(context.Background(), e, wf)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || tasks[0].ID != "greet" || tasks[0].Name != "greet" || tasks[1].Name != "capitalise" {
		t.Errorf("tasks = %+v, want greet then capitalise", tasks)
	}

	src := t.TempDir()
	enginetest.WriteFile(t, src, "echo.cwl", "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs:\n  message: {type: string, inputBinding: {position: 1}}\noutputs: []\n")
	l, e, code = runReal(t, src, "echo.cwl", `{"message": "hi"}`, nil)
	if code != 0 {
		t.Fatalf("cwltool exited %d:\n%s", code, enginetest.Logs(l))
	}
	tasks, err = engines.Tasks(context.Background(), e, engines.Workflow{WorkDir: l.WorkDir(), Main: "echo.cwl"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].ID != "echo.cwl" || tasks[0].Name != "echo.cwl" {
		t.Errorf("single tool tasks = %+v, want echo.cwl", tasks)
	}
}
