package snakemake_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/wes"
)

const exampleDir = "../../../examples/snakemake/hello"

func newRun(id string, params string, engineParams map[string]string) *wes.Run {
	return &wes.Run{ID: id, EngineVer: "7.21.0", Request: wes.RunRequest{
		WorkflowType: "SMK", WorkflowTypeVersion: "1.0",
		WorkflowParams: json.RawMessage(params), WorkflowEngineParameters: engineParams,
	}}
}

func TestPrepareArgv(t *testing.T) {
	e := snakemake.New(snakemake.Config{Versions: []string{"7.21.0"}, DefaultCores: 2}, nil)
	tests := []struct {
		name      string
		params    map[string]string
		want      []string // consecutive argv elements that must appear
		wantNot   []string
		wantCores int
	}{
		{name: "defaults", want: []string{"--cores", "2"}, wantNot: []string{"--keep-going", "--rerun-incomplete"}, wantCores: 2},
		{name: "cores", params: map[string]string{"cores": "8"}, want: []string{"--cores", "8"}, wantCores: 8},
		{name: "flags", params: map[string]string{"keep-going": "true", "rerun-incomplete": "true"},
			want: []string{"--keep-going", "--rerun-incomplete"}, wantCores: 2},
		{name: "false flags", params: map[string]string{"keep-going": "false"}, wantNot: []string{"--keep-going"}, wantCores: 2},
		{name: "latency", params: map[string]string{"latency-wait": "30", "restart-times": "2"},
			want: []string{"--latency-wait", "30", "--restart-times", "2"}, wantCores: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := enginetest.NewRun(t, "r1", exampleDir)
			job, err := e.Prepare(context.Background(), wes.PrepareInput{
				Run: newRun("r1", `{"name":"Ada"}`, tt.params), WorkDir: l.WorkDir(), WorkflowPath: "Snakefile"})
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			head := []string{"snakemake", "--snakefile", "Snakefile", "--directory", ".", "--configfile", ".enclave/params.json"}
			if !slices.Equal(job.Argv[:len(head)], head) {
				t.Errorf("argv starts %q, want %q", job.Argv[:len(head)], head)
			}
			if !containsRun(job.Argv, tt.want) {
				t.Errorf("argv %q lacks %q", job.Argv, tt.want)
			}
			for _, s := range tt.wantNot {
				if slices.Contains(job.Argv, s) {
					t.Errorf("argv %q has %q", job.Argv, s)
				}
			}
			if job.Resources.CPUs != tt.wantCores || job.ID != "r1" || job.WorkDir != l.WorkDir() {
				t.Errorf("job = %+v", job)
			}
			got, err := os.ReadFile(filepath.Join(l.WorkDir(), ".enclave", "params.json"))
			if err != nil || !strings.Contains(string(got), `"name": "Ada"`) {
				t.Errorf("params file = %q, %v", got, err)
			}
		})
	}
}

// containsRun reports whether want appears in argv as consecutive elements.
func containsRun(argv, want []string) bool {
	if len(want) == 0 {
		return true
	}
	for i := 0; i+len(want) <= len(argv); i++ {
		if slices.Equal(argv[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

func TestPrepareRefuses(t *testing.T) {
	e := snakemake.New(snakemake.Config{Versions: []string{"7.21.0"}}, nil)
	evil := "--foo; rm -rf /"
	tests := []struct {
		name     string
		params   string
		engine   map[string]string
		workflow string
		wantMsg  string
	}{
		{name: "unknown engine param", params: `{}`, engine: map[string]string{"--use-conda": "true"}, workflow: "Snakefile",
			wantMsg: `"--use-conda" is not a parameter of snakemake 7.21.0`},
		{name: "injection in int", params: `{}`, engine: map[string]string{"cores": evil}, workflow: "Snakefile",
			wantMsg: "cores must be an integer from 1 to 64"},
		{name: "injection in bool", params: `{}`, engine: map[string]string{"keep-going": evil}, workflow: "Snakefile",
			wantMsg: `keep-going must be "true" or "false"`},
		{name: "params not an object", params: `["a"]`, workflow: "Snakefile", wantMsg: "workflow_params must be a JSON object"},
		{name: "params not JSON", params: `{`, workflow: "Snakefile", wantMsg: "workflow_params must be a JSON object"},
		{name: "missing workflow", params: `{}`, workflow: "Nope", wantMsg: `workflow_url "Nope" names no file`},
		{name: "escaping workflow", params: `{}`, workflow: "../Snakefile", wantMsg: "workflow_url must name a workflow file inside the run"},
		{name: "absolute workflow", params: `{}`, workflow: "/etc/passwd", wantMsg: "workflow_url must name"},
		{name: "directory workflow", params: `{}`, workflow: ".", wantMsg: `workflow_url "." must be a regular file`},
		{name: "symlinked workflow", params: `{}`, workflow: "link", wantMsg: `workflow_url "link" must be a regular file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := enginetest.NewRun(t, "r1", exampleDir)
			if err := os.Symlink("/etc/passwd", filepath.Join(l.WorkDir(), "link")); err != nil {
				t.Fatal(err)
			}
			_, err := e.Prepare(context.Background(), wes.PrepareInput{
				Run: newRun("r1", tt.params, tt.engine), WorkDir: l.WorkDir(), WorkflowPath: tt.workflow})
			if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.wantMsg) {
				t.Fatalf("err = %v, want EINVALID with %q", err, tt.wantMsg)
			}
			if strings.Contains(wes.ErrorMessage(err), l.Root) {
				t.Errorf("message leaks the zone path: %q", wes.ErrorMessage(err))
			}
		})
	}
}

// A value in workflow_params is data: it goes to the params file, never into argv.
func TestParamsNeverReachArgv(t *testing.T) {
	e := snakemake.New(snakemake.Config{Versions: []string{"7.21.0"}}, nil)
	l := enginetest.NewRun(t, "r1", exampleDir)
	evil := "--foo; rm -rf /"
	params, _ := json.Marshal(map[string]string{"name": evil, "--cores": evil})
	job, err := e.Prepare(context.Background(), wes.PrepareInput{
		Run: newRun("r1", string(params), nil), WorkDir: l.WorkDir(), WorkflowPath: "Snakefile"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range job.Argv {
		if strings.Contains(a, "--foo") || strings.Contains(a, "rm -rf") {
			t.Fatalf("argv %q carries a workflow_params value", job.Argv)
		}
	}
}

func TestDiscover(t *testing.T) {
	bin := enginetest.RequireBinary(t, "snakemake")
	e := snakemake.New(snakemake.Config{Binary: bin}, nil)
	if len(e.Versions()) != 0 {
		t.Fatalf("versions before discovery: %v", e.Versions())
	}
	vs, err := e.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || engines.CompareVersions(vs[0], "7.0") < 0 || !slices.Equal(e.Versions(), vs) {
		t.Fatalf("Discover = %v, Versions = %v", vs, e.Versions())
	}
	t.Logf("discovered snakemake %s", vs[0])

	configured := snakemake.New(snakemake.Config{Binary: "/nonexistent/snakemake", Versions: []string{"7.3.0"}}, nil)
	if vs, err := configured.Discover(context.Background()); err != nil || !slices.Equal(vs, []string{"7.3.0"}) {
		t.Fatalf("configured Discover = %v, %v", vs, err)
	}
	missing := snakemake.New(snakemake.Config{Binary: "/nonexistent/snakemake"}, nil)
	if _, err := missing.Discover(context.Background()); err == nil {
		t.Fatal("Discover of a missing binary succeeded")
	}
}

func TestRegistryMetadata(t *testing.T) {
	e := snakemake.New(snakemake.Config{Versions: []string{"7.21.0"}}, nil)
	r := engines.NewRegistry(e)
	got, v, err := r.Resolve("SMK", "1.0", "", "")
	if err != nil || got != wes.Engine(e) || v != "7.21.0" {
		t.Fatalf("Resolve = %v %q %v", got, v, err)
	}
}

// runReal prepares and runs the real snakemake on the files of src with params.
func runReal(t *testing.T, src, params string, engineParams map[string]string) (wes.Layout, *snakemake.Engine, int) {
	t.Helper()
	bin := enginetest.RequireBinary(t, "snakemake")
	e := snakemake.New(snakemake.Config{Binary: bin}, nil)
	if _, err := e.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	l := enginetest.NewRun(t, "run1", src)
	run := newRun("run1", params, engineParams)
	run.EngineVer = e.Versions()[0]
	job, err := e.Prepare(context.Background(), wes.PrepareInput{Run: run, WorkDir: l.WorkDir(), WorkflowPath: "Snakefile"})
	if err != nil {
		t.Fatal(err)
	}
	return l, e, enginetest.Exec(t, l, job, 2*time.Minute)
}

func TestRunHello(t *testing.T) {
	l, e, code := runReal(t, exampleDir, `{"name": "Ada; rm -rf /"}`, nil)
	if code != 0 {
		t.Fatalf("snakemake exited %d:\n%s", code, enginetest.Logs(l))
	}
	shout, err := os.ReadFile(filepath.Join(l.WorkDir(), "results", "shout.txt"))
	if err != nil || string(shout) != "HELLO, ADA; RM -RF /!\n" {
		t.Fatalf("shout.txt = %q, %v", shout, err)
	}

	tasks, err := e.Tasks(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]wes.Task{}
	for _, tk := range tasks {
		byName[tk.Name] = tk
	}
	if len(tasks) != 3 {
		t.Fatalf("tasks = %+v, want greet, shout, all", tasks)
	}
	ids := map[string]bool{}
	for _, name := range []string{"greet", "shout", "all"} {
		tk, ok := byName[name]
		if _, err := strconv.Atoi(tk.ID); !ok || err != nil || ids[tk.ID] || tk.ExitCode == nil || *tk.ExitCode != 0 {
			t.Errorf("task %s = %+v, want a distinct numeric jobid, exit 0", name, tk)
			continue
		}
		ids[tk.ID] = true
		if tk.StartTime.IsZero() || tk.EndTime.Before(tk.StartTime) || time.Since(tk.EndTime) > 10*time.Minute {
			t.Errorf("task %s times %v..%v", name, tk.StartTime, tk.EndTime)
		}
	}
	if c := byName["shout"].Cmd; len(c) != 1 || !strings.HasPrefix(c[0], "tr ") {
		t.Errorf("shout cmd = %q", c)
	}
	if c := byName["all"].Cmd; c != nil {
		t.Errorf("all has cmd %q", c)
	}

	outs, err := e.Outputs(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"results/greeting.txt": map[string]any{"path": "results/greeting.txt", "size": int64(22)},
		"results/shout.txt":    map[string]any{"path": "results/shout.txt", "size": int64(22)},
	}
	if g, w := mustJSON(t, outs), mustJSON(t, want); g != w {
		t.Errorf("outputs = %s, want %s", g, w)
	}
	enginetest.AssertNoAbsPaths(t, outs, l.Root)
	enginetest.AssertNoAbsPaths(t, tasks, l.Root)
}

func TestRunFailing(t *testing.T) {
	src := t.TempDir()
	enginetest.WriteFile(t, src, "Snakefile", `
rule all:
    input: "ok.txt", "bad.txt"

rule ok:
    output: "ok.txt"
    shell: "echo ok > {output}"

rule bad:
    output: "bad.txt"
    shell:
        """
        echo partial > {output}
        exit 3
        """
`)
	l, e, code := runReal(t, src, `{}`, map[string]string{"keep-going": "true"})
	if code == 0 {
		t.Fatal("failing workflow exited 0")
	}
	tasks, err := e.Tasks(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]wes.Task{}
	for _, tk := range tasks {
		byName[tk.Name] = tk
	}
	if tk := byName["bad"]; tk.ExitCode == nil || *tk.ExitCode != 1 || tk.EndTime.IsZero() ||
		len(tk.Cmd) != 1 || !strings.Contains(tk.Cmd[0], "exit 3") {
		t.Errorf("bad = %+v, want exit 1 with its command", tk)
	}
	if tk := byName["ok"]; tk.ExitCode == nil || *tk.ExitCode != 0 {
		t.Errorf("ok = %+v, want exit 0", tk)
	}
	if _, ok := byName["all"]; ok {
		t.Errorf("all ran although bad failed: %+v", tasks)
	}
	outs, err := e.Outputs(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := outs["ok.txt"]; !ok || len(outs) != 1 {
		t.Errorf("outputs = %v, want ok.txt only (Snakemake removes the failed job's output)", outs)
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
