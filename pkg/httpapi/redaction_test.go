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
	"github.com/spe4hd/enclave/pkg/engines/cwl"
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

// zoneHarness serves the zone's catalogue in sealed mode with the real Snakemake and
// cwltool engines.
func newZoneHarness(t *testing.T, z zone) (*harness, *catalog.Holder, *engines.Registry) {
	t.Helper()
	requireEngine(t, "snakemake")
	requireEngine(t, "cwltool")
	holder, err := catalog.NewHolder(z.catalog, catalog.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	reg := engines.NewRegistry(snakemake.New(snakemake.Config{}, nil), cwl.New(cwl.Config{}, nil))
	for _, e := range reg.All() {
		if _, err := e.(engines.Discoverer).Discover(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, func(c *testConfig, d *testDeps) {
		c.Mode = ModeSealed
		d.Catalog, d.Results = holder, rs
		d.Engines = reg
	})
	return h, holder, reg
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
func runAsRunner(t *testing.T, h *harness, holder *catalog.Holder, reg *engines.Registry, id string) {
	t.Helper()
	ctx := context.Background()
	r, err := h.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := reg.ByName(r.Engine)
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
		"dataset dir": filepath.Dir(z.dataset), "other dataset": z.other, "zone": z.dir, "data root": filepath.Dir(z.other),
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
// a real Snakemake run and a real cwltool run (run log, tasks, both logs whole, from
// every offset, and followed while they grow): no work dir, data dir or dataset path
// appears, each is a placeholder, and the tasks keep the names of the workflow's steps.
func TestNoZonePathReachesTheOwner(t *testing.T) {
	z := newZone(t)
	h, holder, reg := newZoneHarness(t, z)
	for _, tc := range []struct {
		workflow string
		cmd      map[string]string // task name → the start of its command
	}{
		{"cohort-count-smk", map[string]string{"copy": "cp <dataset:cohort-demo> ", "summarise": "python3 ", "all": ""}},
		{"cohort-count-cwl", map[string]string{"copy": "cp ", "summarise": "python3 "}},
	} {
		t.Run(tc.workflow, func(t *testing.T) { checkNoZonePath(t, h, holder, reg, z, tc.workflow, tc.cmd) })
	}
}

func checkNoZonePath(t *testing.T, h *harness, holder *catalog.Holder, reg *engines.Registry, z zone, workflow string, wantCmd map[string]string) {
	id := h.submit("alice", field("workflow_url", workflow), field("workflow_params", `{"cohort": "cohort-demo"}`))
	runAsRunner(t, h, holder, reg, id)
	r, err := h.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.store.Update(context.Background(), id, func(r *wes.Run) error {
		r.AddSystemLog("the executor refused the job: " + r.WorkDir + " and " + z.other + "/x are not allowed")
		r.AddSystemLog("datasets live in " + filepath.Dir(z.other))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	paths := zonePaths(h, z, r)
	layout := wes.LayoutFor(h.dataDir, id)
	rawErr, _ := os.ReadFile(layout.StderrPath())
	if !strings.Contains(string(rawErr), r.WorkDir) {
		t.Fatalf("the engine's stderr does not show the work dir, so the test proves little:\n%s", rawErr)
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
	if sys := strings.Join(rl.RunLog.SystemLogs, "\n"); !strings.Contains(sys, "<workdir> and <dataset>/x") || !strings.Contains(sys, "datasets live in <datasets>") {
		t.Errorf("system logs = %q", sys)
	}
	if cmd := strings.Join(rl.RunLog.Cmd, " "); !strings.Contains(cmd, " --") {
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
	for name, want := range wantCmd {
		if cmd, ok := cmds[name]; !ok || !strings.HasPrefix(cmd, want) {
			t.Errorf("task %s: command %q, want it to start with %q (tasks %q)", name, cmd, want, cmds)
		}
	}
	if len(cmds) != len(wantCmd) {
		t.Errorf("tasks %q, want %d", cmds, len(wantCmd))
	}

	for _, stream := range []string{"stdout", "stderr"} {
		whole, _ := get(base + "/logs/" + stream)
		raw, _ := os.ReadFile(filepath.Join(layout.LogDir(), stream+".log"))
		for off := 0; off <= len(raw); off++ {
			get(base + "/logs/" + stream + "?offset=" + strconv.Itoa(off))
		}
		if stream == "stderr" && !strings.Contains(string(whole), "<workdir>") {
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
