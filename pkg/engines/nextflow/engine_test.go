package nextflow_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
	"github.com/spe4hd/enclave/pkg/engines/nextflow"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Nextflow cannot be installed on this machine (no Debian package; its launcher downloads
// jars from the network), so these tests check argv, the params and config files and
// trace parsing, and never run nextflow.
func logNoEngine(t *testing.T) {
	if _, err := exec.LookPath("nextflow"); err != nil {
		t.Log("nextflow is not installed here: testing argv, params file and trace parsing only")
	}
}

func newRun(params string, engineParams map[string]string) *wes.Run {
	return &wes.Run{ID: "r1", EngineVer: "24.04.4", Request: wes.RunRequest{
		WorkflowType: "NFL", WorkflowTypeVersion: "DSL2",
		WorkflowParams: json.RawMessage(params), WorkflowEngineParameters: engineParams,
	}}
}

func TestPrepare(t *testing.T) {
	logNoEngine(t)
	e := nextflow.New(nextflow.Config{Versions: []string{"23.10.1", "24.04.4"}}, nil)
	tests := []struct {
		name   string
		params map[string]string
		tail   []string
	}{
		{name: "defaults", tail: []string{"-offline"}},
		{name: "all", params: map[string]string{"resume": "true", "profile": "test,standard", "queue-size": "4"},
			tail: []string{"-offline", "-resume", "-profile", "test,standard", "-queue-size", "4"}},
		{name: "resume off", params: map[string]string{"resume": "false"}, tail: []string{"-offline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := enginetest.NewRun(t, "r1", "")
			enginetest.WriteFile(t, l.WorkDir(), "main.nf", "workflow { }\n")
			job, err := e.Prepare(context.Background(), wes.PrepareInput{
				Run: newRun(`{"name": "Ada", "n": 3}`, tt.params), WorkDir: l.WorkDir(), WorkflowPath: "main.nf"})
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string{"nextflow", "-log", ".enclave/nextflow.log", "-c", ".enclave/nextflow.config",
				"run", "./main.nf", "-params-file", ".enclave/params.json", "-work-dir", ".enclave/nf-work",
				"-with-trace", ".enclave/trace.tsv", "-ansi-log", "false"}, tt.tail...)
			if !slices.Equal(job.Argv, want) {
				t.Errorf("argv = %q\nwant   %q", job.Argv, want)
			}
			var params map[string]any
			data, _ := os.ReadFile(filepath.Join(l.WorkDir(), ".enclave", "params.json"))
			if err := json.Unmarshal(data, &params); err != nil || params["name"] != "Ada" || params["n"] != float64(3) {
				t.Errorf("params file = %s, %v", data, err)
			}
			conf, err := os.ReadFile(filepath.Join(l.WorkDir(), ".enclave", "nextflow.config"))
			if err != nil || !strings.Contains(string(conf), "raw       = true") || !strings.Contains(string(conf), "task_id,hash,name,status,exit,submit,start,complete") {
				t.Errorf("config = %s, %v", conf, err)
			}
		})
	}
}

func TestPrepareRefuses(t *testing.T) {
	e := nextflow.New(nextflow.Config{Versions: []string{"24.04.4"}}, nil)
	evil := "--foo; rm -rf /"
	for name, tt := range map[string]struct {
		engine  map[string]string
		wantMsg string
	}{
		"profile injection": {map[string]string{"profile": evil}, "profile must be 1 to 128"},
		"profile option":    {map[string]string{"profile": "-c"}, "must not start with -"},
		"queue size":        {map[string]string{"queue-size": "1000"}, "queue-size must be an integer from 1 to 64"},
		"unknown":           {map[string]string{"with-docker": "true"}, `"with-docker" is not a parameter of nextflow`},
	} {
		t.Run(name, func(t *testing.T) {
			l := enginetest.NewRun(t, "r1", "")
			enginetest.WriteFile(t, l.WorkDir(), "main.nf", "workflow { }\n")
			_, err := e.Prepare(context.Background(), wes.PrepareInput{
				Run: newRun(`{}`, tt.engine), WorkDir: l.WorkDir(), WorkflowPath: "main.nf"})
			if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.wantMsg) {
				t.Fatalf("err = %v, want EINVALID with %q", err, tt.wantMsg)
			}
		})
	}
}

func TestParamsNeverReachArgv(t *testing.T) {
	e := nextflow.New(nextflow.Config{Versions: []string{"24.04.4"}}, nil)
	l := enginetest.NewRun(t, "r1", "")
	enginetest.WriteFile(t, l.WorkDir(), "main.nf", "workflow { }\n")
	evil := "--foo; rm -rf /"
	params, _ := json.Marshal(map[string]string{"outdir": evil, "-profile": evil})
	job, err := e.Prepare(context.Background(), wes.PrepareInput{
		Run: newRun(string(params), nil), WorkDir: l.WorkDir(), WorkflowPath: "main.nf"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range job.Argv {
		if strings.Contains(a, "--foo") || strings.Contains(a, "rm -rf") {
			t.Fatalf("argv %q carries a workflow_params value", job.Argv)
		}
	}
}

func TestDiscoverConfiguredOnly(t *testing.T) {
	e := nextflow.New(nextflow.Config{Binary: "/nonexistent/nextflow"}, nil)
	if vs, err := e.Discover(context.Background()); err != nil || len(vs) != 0 {
		t.Fatalf("Discover = %v, %v", vs, err)
	}
	r := engines.NewRegistry(e)
	if _, _, err := r.Resolve("NFL", "DSL2", "", ""); !wes.IsCode(err, wes.EINVALID) ||
		!strings.Contains(wes.ErrorMessage(err), "nextflow has no version available") {
		t.Fatalf("Resolve without versions = %v", err)
	}
	e = nextflow.New(nextflow.Config{Versions: []string{"23.10.1", "24.04.4"}}, nil)
	if vs, _ := e.Discover(context.Background()); !slices.Equal(vs, []string{"23.10.1", "24.04.4"}) {
		t.Fatalf("Discover = %v", vs)
	}
	if _, v, err := engines.NewRegistry(e).Resolve("NFL", "DSL2", "nextflow", ""); err != nil || v != "24.04.4" {
		t.Fatalf("Resolve = %q, %v", v, err)
	}
}

func TestParseTrace(t *testing.T) {
	raw := "task_id\thash\tname\tstatus\texit\tsubmit\tstart\tcomplete\n" +
		"1\tab/123456\tsayHello (1)\tCOMPLETED\t0\t1700000000000\t1700000001000\t1700000002500\n" +
		"2\tcd/654321\tsayHello (2)\tFAILED\t3\t1700000000000\t-\t1700000003000\n" +
		"3\tef/000000\tcleanup\tABORTED\t-\t1700000004000\t-\t-\n" +
		"\n"
	tasks := nextflow.ParseTrace([]byte(raw), time.UTC)
	if len(tasks) != 3 {
		t.Fatalf("tasks = %+v", tasks)
	}
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	checks := []struct {
		id, name   string
		start, end time.Time
		exit       int
	}{
		{"1", "sayHello (1)", ms(1700000001000), ms(1700000002500), 0},
		{"2", "sayHello (2)", ms(1700000000000), ms(1700000003000), 3},
		{"3", "cleanup", ms(1700000004000), time.Time{}, 1},
	}
	for i, c := range checks {
		tk := tasks[i]
		if tk.ID != c.id || tk.Name != c.name || !tk.StartTime.Equal(c.start) || !tk.EndTime.Equal(c.end) ||
			tk.ExitCode == nil || *tk.ExitCode != c.exit {
			t.Errorf("task %d = %+v, want %+v", i, tk, c)
		}
	}

	formatted := "task_id\tname\tstatus\texit\tstart\tcomplete\n" +
		"7\talign (s1)\tCOMPLETED\t0\t2026-11-23 10:00:00.250\t2026-11-23 10:01:00.000\n" +
		"8\tcall\tSUBMITTED\t-\t-\t-\n"
	tasks = nextflow.ParseTrace([]byte(formatted), time.UTC)
	if len(tasks) != 2 || !tasks[0].StartTime.Equal(time.Date(2026, 11, 23, 10, 0, 0, 250e6, time.UTC)) ||
		tasks[1].ExitCode != nil || !tasks[1].StartTime.IsZero() {
		t.Errorf("formatted trace = %+v", tasks)
	}
	if got := nextflow.ParseTrace([]byte("not\ta\ttrace\n1\t2\t3\n"), time.UTC); got != nil {
		t.Errorf("non-trace = %+v", got)
	}
}

func TestTasksAndOutputsFromWorkDir(t *testing.T) {
	e := nextflow.New(nextflow.Config{Versions: []string{"24.04.4"}}, nil)
	l := enginetest.NewRun(t, "r1", "")
	enginetest.WriteFile(t, l.WorkDir(), "main.nf", "workflow { }\n")
	if _, err := e.Prepare(context.Background(), wes.PrepareInput{
		Run: newRun(`{}`, nil), WorkDir: l.WorkDir(), WorkflowPath: "main.nf"}); err != nil {
		t.Fatal(err)
	}
	if tasks, err := e.Tasks(context.Background(), l.WorkDir()); err != nil || len(tasks) != 0 {
		t.Fatalf("Tasks before the run = %v, %v", tasks, err)
	}
	// What a run leaves behind: published results, Nextflow's own files, the task work dir.
	enginetest.WriteFile(t, l.WorkDir(), "results/hello.txt", "hello")
	enginetest.WriteFile(t, l.WorkDir(), ".nextflow/history", "x")
	enginetest.WriteFile(t, l.WorkDir(), ".enclave/nf-work/ab/123456/.command.sh", "echo")
	enginetest.WriteFile(t, l.WorkDir(), ".enclave/trace.tsv", "task_id\tname\tstatus\texit\n1\tsayHello\tCOMPLETED\t0\n")
	tasks, err := e.Tasks(context.Background(), l.WorkDir())
	if err != nil || len(tasks) != 1 || tasks[0].Name != "sayHello" {
		t.Fatalf("Tasks = %+v, %v", tasks, err)
	}
	outs, err := e.Outputs(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(outs)
	if string(b) != `{"results/hello.txt":{"path":"results/hello.txt","size":5}}` {
		t.Errorf("outputs = %s", b)
	}
	enginetest.AssertNoAbsPaths(t, outs, l.Root)
}
