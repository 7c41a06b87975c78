package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress/localfs"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/wes"
)

// zone is a copy of the example catalogue in a directory of its own (datasets outside the
// server's data dir), with cohort-count-smk showing its logs to their owner, and a second
// dataset the runs do not read.
type zone struct {
	dir, catalog, dataset, other string
}

func newZone(t *testing.T) zone {
	t.Helper()
	z := zone{dir: t.TempDir()}
	if err := os.CopyFS(z.dir, os.DirFS("../../examples/catalog")); err != nil {
		t.Fatal(err)
	}
	z.catalog = filepath.Join(z.dir, "catalog.yaml")
	z.dataset = filepath.Join(z.dir, "data", "cohort-demo", "patients.csv")
	z.other = filepath.Join(z.dir, "data", "cohort-other")
	if err := os.MkdirAll(z.other, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(z.catalog)
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(b), "    logs: admin\n", "    logs: owner\n", 1)
	y = strings.Replace(y, "\ndatasets:\n", "\ndatasets:\n  - id: cohort-other\n    name: Other\n    path: cohort-other\n    groups: [other-analysts]\n", 1)
	if err := os.WriteFile(z.catalog, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return z
}

// zoneHarness serves the zone's catalogue in sealed mode with the real Snakemake engine.
func newZoneHarness(t *testing.T, z zone) (*harness, *catalog.Holder, *snakemake.Engine) {
	t.Helper()
	requireEngine(t, "snakemake")
	holder, err := catalog.NewHolder(z.catalog, catalog.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	smk := snakemake.New(snakemake.Config{}, nil)
	if _, err := smk.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config, d *Deps) {
		c.Mode = ModeSealed
		d.Catalog, d.Results = holder, rs
		d.Engines = engines.NewRegistry(smk)
	})
	return h, holder, smk
}

func requireEngine(t *testing.T, bin string) {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required under CI", bin)
		}
		t.Skipf("SKIP: %s is not installed (`make setup` installs it)", bin)
	}
}

// runAsRunner stages and runs a catalogue run as the runner does (files pinned and
// copied, dataset ids resolved to paths, the engine's command run in the work dir with its
// streams in the run's log files) and stores the result.
func runAsRunner(t *testing.T, h *harness, holder *catalog.Holder, e wes.Engine, id string) {
	t.Helper()
	ctx := context.Background()
	r, err := h.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	cat := holder.Catalog()
	entry, _ := cat.Entry(r.Workflow)
	if err := cat.StageFiles(r.Workflow, r.WorkDir); err != nil {
		t.Fatal(err)
	}
	params, _, err := cat.ResolveParams(r.Workflow, r.Request.WorkflowParams)
	if err != nil {
		t.Fatal(err)
	}
	cp := *r
	cp.Request.WorkflowParams = params
	cp.Request.WorkflowEngineParameters = entry.EngineParameters(r.Request.WorkflowEngineParameters)
	job, err := e.Prepare(ctx, wes.PrepareInput{Run: &cp, WorkDir: r.WorkDir, WorkflowPath: entry.Main})
	if err != nil {
		t.Fatal(err)
	}
	layout := wes.LayoutFor(h.dataDir, id)
	if err := os.MkdirAll(layout.LogDir(), 0o750); err != nil {
		t.Fatal(err)
	}
	stdout, _ := os.Create(layout.StdoutPath())
	stderr, _ := os.Create(layout.StderrPath())
	cmd := exec.Command(job.Argv[0], job.Argv[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = job.WorkDir, stdout, stderr
	runErr := cmd.Run()
	stdout.Close()
	stderr.Close()
	if runErr != nil {
		b, _ := os.ReadFile(layout.StderrPath())
		t.Fatalf("%v: %v\n%s", job.Argv, runErr, b)
	}
	h.setState(id, wes.StateInitializing, wes.StateRunning, wes.StateComplete)
	_, err = h.store.Update(ctx, id, func(r *wes.Run) error {
		r.Log.Cmd = job.Argv
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// zonePaths are the absolute paths no response may show, with the name of each, and
// pieces of them that show a path was cut rather than rewritten whole.
func zonePaths(h *harness, z zone, r *wes.Run) map[string]string {
	out := map[string]string{"data dir": h.dataDir, "work dir": r.WorkDir, "dataset": z.dataset,
		"dataset dir": filepath.Dir(z.dataset), "other dataset": z.other, "zone": z.dir,
		"end of the work dir": "/runs/" + r.ID + "/work", "end of the dataset": "cohort-demo/patients.csv",
		"test's temp dir": filepath.Base(filepath.Dir(h.dataDir))}
	for name, p := range out {
		if real, err := filepath.EvalSymlinks(p); err == nil && real != p {
			out[name+" (resolved)"] = real
		}
	}
	return out
}

func assertNoZonePaths(t *testing.T, what string, body []byte, paths map[string]string) {
	t.Helper()
	for name, p := range paths {
		if strings.Contains(string(body), p) {
			t.Fatalf("%s shows the %s %s:\n%s", what, name, p, body)
		}
	}
}

// A researcher whose workflow shows its logs to its owner reads everything the API has of
// a real Snakemake run (run log, tasks, both logs whole, from every offset, and followed
// while they grow): no work dir, data dir or dataset path appears, each is a placeholder.
func TestNoZonePathReachesTheOwner(t *testing.T) {
	z := newZone(t)
	h, holder, smk := newZoneHarness(t, z)
	id := h.submit("alice", field("workflow_url", "cohort-count-smk"), field("workflow_params", `{"cohort": "cohort-demo"}`))
	runAsRunner(t, h, holder, smk, id)
	r, err := h.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.store.Update(context.Background(), id, func(r *wes.Run) error {
		r.AddSystemLog("the executor refused the job: " + r.WorkDir + " and " + z.other + "/x are not allowed")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	paths := zonePaths(h, z, r)
	layout := wes.LayoutFor(h.dataDir, id)
	rawErr, _ := os.ReadFile(layout.StderrPath())
	if !strings.Contains(string(rawErr), z.dataset) || !strings.Contains(string(rawErr), r.WorkDir) {
		t.Fatalf("Snakemake's stderr shows neither the dataset nor the work dir, so the test proves nothing:\n%s", rawErr)
	}

	base := BasePath + "/runs/" + id
	get := func(path string) ([]byte, http.Header) {
		t.Helper()
		st, b, hdr := h.do(http.MethodGet, path, "alice", "", nil)
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, st, b)
		}
		assertNoZonePaths(t, "GET "+path, b, paths)
		return b, hdr
	}
	runLogBody, _ := get(base)
	var rl api.RunLog
	if err := json.Unmarshal(runLogBody, &rl); err != nil {
		t.Fatal(err)
	}
	if sys := strings.Join(rl.RunLog.SystemLogs, "\n"); !strings.Contains(sys, "<workdir> and <dataset>/x") {
		t.Errorf("system logs = %q", sys)
	}
	if cmd := strings.Join(rl.RunLog.Cmd, " "); !strings.Contains(cmd, "--snakefile Snakefile") {
		t.Errorf("run_log.cmd = %q", cmd)
	}
	tasksBody, _ := get(base + "/tasks?page_size=20")
	var tl api.TaskListResponse
	if err := json.Unmarshal(tasksBody, &tl); err != nil {
		t.Fatal(err)
	}
	cmds := map[string]string{}
	for _, tk := range tl.TaskLogs {
		cmds[tk.Name] = strings.Join(tk.Cmd, " ")
		get(base + "/tasks/" + tk.Id)
	}
	if _, ok := cmds["all"]; !ok || !strings.HasPrefix(cmds["copy"], "cp <dataset:cohort-demo> ") || !strings.Contains(cmds["summarise"], "python3") {
		t.Errorf("tasks lost their rule names or commands: %q", cmds)
	}

	for _, stream := range []string{"stdout", "stderr"} {
		whole, _ := get(base + "/logs/" + stream)
		raw, _ := os.ReadFile(filepath.Join(layout.LogDir(), stream+".log"))
		for off := 0; off <= len(raw); off++ {
			get(base + "/logs/" + stream + "?offset=" + strconv.Itoa(off))
		}
		if stream == "stderr" && (!strings.Contains(string(whole), "<dataset:cohort-demo>") || !strings.Contains(string(whole), "<workdir>")) {
			t.Errorf("stderr shows no placeholders:\n%s", whole)
		}
		// From inside a path, the text starts with its placeholder.
		if i := strings.Index(string(raw), z.dataset); i >= 0 {
			b, _ := get(base + "/logs/" + stream + "?offset=" + strconv.Itoa(i+len(z.dataset)-5))
			if !strings.HasPrefix(string(b), "<dataset:cohort-demo>") {
				t.Errorf("read from inside the dataset path: %.80q", b)
			}
		}
	}

	// The same log followed while it grows, a few bytes at a time, as `enclave run logs
	// --follow` reads it: the same text, no path cut in two.
	follow := h.createRun("alice", func(fr *wes.Run) {
		fr.Workflow, fr.Datasets, fr.State = r.Workflow, r.Datasets, wes.StateRunning
		fr.WorkDir = r.WorkDir
	})
	fl := wes.LayoutFor(h.dataDir, follow.ID)
	if err := os.MkdirAll(fl.LogDir(), 0o750); err != nil {
		t.Fatal(err)
	}
	wantText, _ := get(base + "/logs/stderr")
	var got []byte
	var off int64
	for size := 0; ; size = min(len(rawErr), size+13) {
		if err := os.WriteFile(fl.StderrPath(), rawErr[:size], 0o640); err != nil {
			t.Fatal(err)
		}
		if size == len(rawErr) {
			h.setState(follow.ID, wes.StateComplete)
		}
		b, hdr := get(BasePath + "/runs/" + follow.ID + "/logs/stderr?offset=" + strconv.FormatInt(off, 10))
		got = append(got, b...)
		if off, err = strconv.ParseInt(hdr.Get("X-Enclave-Next-Offset"), 10, 64); err != nil {
			t.Fatal(err)
		}
		if size == len(rawErr) {
			break
		}
	}
	if string(got) != string(wantText) {
		t.Errorf("followed stderr differs from the whole:\n%s\nwant\n%s", got, wantText)
	}
}

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
	h := newHarness(t, func(_ *Config, d *Deps) { d.Engines = engines.NewRegistry(rawTestEngine{testEngine{"tester"}}) })
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
