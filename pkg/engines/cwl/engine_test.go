package cwl_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
	"github.com/spe4hd/enclave/pkg/wes"
)

const exampleDir = "../../../examples/cwl/hello"

func newRun(id, params string, engineParams map[string]string) *wes.Run {
	return &wes.Run{ID: id, EngineVer: "3.1.20230209161050", Request: wes.RunRequest{
		WorkflowType: "CWL", WorkflowTypeVersion: "v1.2",
		WorkflowParams: json.RawMessage(params), WorkflowEngineParameters: engineParams,
	}}
}

func TestPrepareArgv(t *testing.T) {
	tests := []struct {
		name    string
		cfg     cwl.Config
		params  map[string]string
		want    [][]string // runs of consecutive argv elements that must appear
		wantNot []string
	}{
		{name: "defaults", want: [][]string{{"--no-container"}, {"--strict"}, {"--on-error", "stop"}, {"--eval-timeout", "60"}},
			wantNot: []string{"--parallel", "--non-strict", "--disable-pull"}},
		{name: "containers", cfg: cwl.Config{Containers: true}, want: [][]string{{"--disable-pull"}}, wantNot: []string{"--no-container"}},
		{name: "params", params: map[string]string{"parallel": "true", "strict": "false", "on-error": "continue", "eval-timeout": "5"},
			want: [][]string{{"--parallel"}, {"--non-strict"}, {"--on-error", "continue"}, {"--eval-timeout", "5"}}, wantNot: []string{"--strict"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Versions = []string{"3.1.20230209161050"}
			e := cwl.New(tt.cfg, nil)
			l := enginetest.NewRun(t, "r1", exampleDir)
			job, err := e.Prepare(context.Background(), wes.PrepareInput{
				Run: newRun("r1", `{"name":"Ada"}`, tt.params), WorkDir: l.WorkDir(), WorkflowPath: "hello.cwl"})
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if job.Argv[0] != "cwltool" || !slices.Equal(job.Argv[len(job.Argv)-2:], []string{"hello.cwl", ".enclave/params.json"}) {
				t.Errorf("argv = %q", job.Argv)
			}
			for _, w := range append(tt.want, []string{"--outdir", "outputs"}, []string{"--basedir", "."}, []string{"--timestamps"}) {
				if !containsRun(job.Argv, w) {
					t.Errorf("argv %q lacks %q", job.Argv, w)
				}
			}
			for _, s := range tt.wantNot {
				if slices.Contains(job.Argv, s) {
					t.Errorf("argv %q has %q", job.Argv, s)
				}
			}
			if job.ID != "r1" || job.WorkDir != l.WorkDir() {
				t.Errorf("job = %+v", job)
			}
			var got map[string]string
			data, _ := os.ReadFile(filepath.Join(l.WorkDir(), ".enclave", "params.json"))
			if err := json.Unmarshal(data, &got); err != nil || got["name"] != "Ada" {
				t.Errorf("job file = %s, %v", data, err)
			}
		})
	}
}

func containsRun(argv, want []string) bool {
	for i := 0; i+len(want) <= len(argv); i++ {
		if slices.Equal(argv[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

func TestPrepareRefuses(t *testing.T) {
	e := cwl.New(cwl.Config{Versions: []string{"3.1.20230209161050"}}, nil)
	tests := []struct {
		name    string
		params  string
		engine  map[string]string
		wantMsg string
	}{
		{name: "tool directive", params: `{"cwl:tool": "other.cwl"}`, wantMsg: `"cwl:tool" is not an input name`},
		{name: "requirements directive", params: `{"name": "x", "cwl:requirements": []}`, wantMsg: `"cwl:requirements" is not an input name`},
		{name: "namespaces", params: `{"$namespaces": {}}`, wantMsg: `"$namespaces" is not an input name`},
		{name: "schemas", params: `{"$schemas": ["http://x"]}`, wantMsg: `"$schemas" is not an input name`},
		{name: "not an object", params: `"Ada"`, wantMsg: "workflow_params must be a JSON object"},
		{name: "unknown engine param", params: `{}`, engine: map[string]string{"no-container": "false"}, wantMsg: `"no-container" is not a parameter of cwltool`},
		{name: "bad enum", params: `{}`, engine: map[string]string{"on-error": "--foo; rm -rf /"}, wantMsg: "on-error must be one of: stop, continue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := enginetest.NewRun(t, "r1", exampleDir)
			_, err := e.Prepare(context.Background(), wes.PrepareInput{
				Run: newRun("r1", tt.params, tt.engine), WorkDir: l.WorkDir(), WorkflowPath: "hello.cwl"})
			if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.wantMsg) {
				t.Fatalf("err = %v, want EINVALID with %q", err, tt.wantMsg)
			}
		})
	}
}

func TestParamsNeverReachArgv(t *testing.T) {
	e := cwl.New(cwl.Config{Versions: []string{"3.1.20230209161050"}}, nil)
	l := enginetest.NewRun(t, "r1", exampleDir)
	evil := "--foo; rm -rf /"
	params, _ := json.Marshal(map[string]string{"name": evil, "--outdir": evil})
	job, err := e.Prepare(context.Background(), wes.PrepareInput{
		Run: newRun("r1", string(params), nil), WorkDir: l.WorkDir(), WorkflowPath: "hello.cwl"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range job.Argv {
		if strings.Contains(a, "--foo") || strings.Contains(a, "rm -rf") {
			t.Fatalf("argv %q carries a workflow_params value", job.Argv)
		}
	}
}

// A workflow file whose name starts with "-" must not read as an option.
func TestWorkflowNameNotAnOption(t *testing.T) {
	e := cwl.New(cwl.Config{Versions: []string{"3.1.20230209161050"}}, nil)
	l := enginetest.NewRun(t, "r1", "")
	enginetest.WriteFile(t, l.WorkDir(), "--version", "cwlVersion: v1.2\n")
	job, err := e.Prepare(context.Background(), wes.PrepareInput{
		Run: newRun("r1", `{}`, nil), WorkDir: l.WorkDir(), WorkflowPath: "--version"})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(job.Argv, "--version") || !slices.Contains(job.Argv, "./--version") {
		t.Fatalf("argv = %q", job.Argv)
	}
}

func TestDiscover(t *testing.T) {
	bin := enginetest.RequireBinary(t, "cwltool")
	e := cwl.New(cwl.Config{Binary: bin}, nil)
	vs, err := e.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || engines.CompareVersions(vs[0], "3.0") < 0 || !slices.Equal(e.Versions(), vs) {
		t.Fatalf("Discover = %v, Versions = %v", vs, e.Versions())
	}
	t.Logf("discovered cwltool %s", vs[0])
	r := engines.NewRegistry(e)
	if _, v, err := r.Resolve("CWL", "v1.0", "cwltool", ""); err != nil || v != vs[0] {
		t.Fatalf("Resolve = %q, %v", v, err)
	}
}

func runReal(t *testing.T, src, workflow, params string, engineParams map[string]string) (wes.Layout, *cwl.Engine, int) {
	t.Helper()
	bin := enginetest.RequireBinary(t, "cwltool")
	e := cwl.New(cwl.Config{Binary: bin}, nil)
	if _, err := e.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	l := enginetest.NewRun(t, "run1", src)
	run := newRun("run1", params, engineParams)
	run.EngineVer = e.Versions()[0]
	job, err := e.Prepare(context.Background(), wes.PrepareInput{Run: run, WorkDir: l.WorkDir(), WorkflowPath: workflow})
	if err != nil {
		t.Fatal(err)
	}
	return l, e, enginetest.Exec(t, l, job, 2*time.Minute)
}

func TestRunHello(t *testing.T) {
	l, e, code := runReal(t, exampleDir, "hello.cwl", `{"name": "Ada; rm -rf /"}`, nil)
	if code != 0 {
		t.Fatalf("cwltool exited %d:\n%s", code, enginetest.Logs(l))
	}
	shout, err := os.ReadFile(filepath.Join(l.WorkDir(), "outputs", "shout.txt"))
	if err != nil || string(shout) != "HELLO, ADA; RM -RF /!\n" {
		t.Fatalf("shout.txt = %q, %v", shout, err)
	}

	tasks, err := e.Tasks(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || tasks[0].Name != "greet" || tasks[1].Name != "capitalise" {
		t.Fatalf("tasks = %+v, want greet then capitalise", tasks)
	}
	for _, tk := range tasks {
		if tk.ID != tk.Name || tk.ExitCode == nil || *tk.ExitCode != 0 || tk.StartTime.IsZero() ||
			tk.EndTime.Before(tk.StartTime) || time.Since(tk.EndTime) > 10*time.Minute {
			t.Errorf("task = %+v", tk)
		}
	}
	if c := tasks[1].Cmd; len(c) != 1 || !strings.HasPrefix(c[0], "tr") || !strings.Contains(c[0], "shout.txt") {
		t.Errorf("capitalise cmd = %q", c)
	}

	outs, err := e.Outputs(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"greeting": "outputs/greeting.txt", "shout": "outputs/shout.txt"} {
		f, _ := outs[name].(map[string]any)
		if f["class"] != "File" || f["location"] != want || f["path"] != want || f["size"] != float64(22) {
			t.Errorf("output %s = %v, want location %s", name, f, want)
		}
	}
	enginetest.AssertNoAbsPaths(t, outs, l.Root)
	enginetest.AssertNoAbsPaths(t, tasks, l.Root)
}

func TestRunFailing(t *testing.T) {
	src := t.TempDir()
	enginetest.WriteFile(t, src, "fail.cwl", `cwlVersion: v1.2
class: Workflow
inputs:
  name: string
outputs:
  out:
    type: File
    outputSource: boom/out
steps:
  boom:
    in: {name: name}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, "echo partial; exit 3"]
      inputs:
        name: string
      outputs:
        out: stdout
`)
	l, e, code := runReal(t, src, "fail.cwl", `{"name": "x"}`, nil)
	if code == 0 {
		t.Fatal("failing workflow exited 0")
	}
	tasks, err := e.Tasks(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Name != "boom" || tasks[0].ExitCode == nil || *tasks[0].ExitCode != 3 || tasks[0].EndTime.IsZero() {
		t.Fatalf("tasks = %+v, want boom with exit code 3", tasks)
	}
	outs, err := e.Outputs(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	enginetest.AssertNoAbsPaths(t, outs, l.Root)
}
