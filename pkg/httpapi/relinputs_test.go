package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/wes"
)

// catInput copies the File it is given to its output.
const catInput = `cwlVersion: v1.2
class: CommandLineTool
baseCommand: cat
inputs:
  infile: {type: File, inputBinding: {position: 1}}
stdout: copy.txt
outputs:
  copy: {type: stdout}
`

// copyInput copies the file its config names.
const copyInput = `rule copy:
    input: config["infile"]
    output: "results/copy.txt"
    shell: "cat {input} > {output}"
`

// newOpenEngines serves plain WES (attachments) with the real Snakemake and cwltool.
func newOpenEngines(t *testing.T) (*harness, *engines.Registry) {
	t.Helper()
	requireEngine(t, "snakemake")
	requireEngine(t, "cwltool")
	reg := engines.NewRegistry(snakemake.New(snakemake.Config{}, nil), cwl.New(cwl.Config{}, nil))
	for _, e := range reg.All() {
		if _, err := e.(engines.Discoverer).Discover(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return newHarness(t, func(c *testConfig, d *testDeps) { c.Mode, d.Engines = ModeOpen, reg }), reg
}

// runOpen prepares and runs an attached-workflow run as the runner does (the engine's
// Prepare on the stored run, its command run in the work dir) and returns its stderr
// when it fails.
func runOpen(t *testing.T, h *harness, reg *engines.Registry, id string) (ok bool, stderr string) {
	t.Helper()
	r, err := h.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := reg.ByName(r.Engine)
	job, err := e.Prepare(context.Background(), wes.PrepareInput{Run: r, WorkDir: r.WorkDir, WorkflowPath: r.Request.WorkflowURL})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, job.Argv[0], job.Argv[1:]...)
	cmd.Dir = job.WorkDir
	out, err := cmd.CombinedOutput()
	return err == nil, string(out)
}

// The run: a WES client attaches data/input.txt and names it by that relative
// path in workflow_params. cwltool used to look for it in .enclave/ beside the params
// file and fail (EXECUTOR_ERROR); both engines now read the attached file.
func TestRelativeInputFromAttachments(t *testing.T) {
	h, reg := newOpenEngines(t)
	for _, tc := range []struct {
		name, output string
		parts        []part
	}{
		{"CWL", "outputs/copy.txt", []part{
			field("workflow_type", cwl.WorkflowType), field("workflow_type_version", "v1.2"),
			field("workflow_url", "wf/cat.cwl"), file("wf/cat.cwl", catInput),
			field("workflow_params", `{"infile": {"class": "File", "path": "data/input.txt"}}`),
		}},
		{"CWL location", "outputs/copy.txt", []part{
			field("workflow_type", cwl.WorkflowType), field("workflow_type_version", "v1.2"),
			field("workflow_url", "wf/cat.cwl"), file("wf/cat.cwl", catInput),
			field("workflow_params", `{"infile": {"class": "File", "location": "data/input.txt"}}`),
		}},
		{"SMK", "results/copy.txt", []part{
			field("workflow_type", snakemake.WorkflowType), field("workflow_type_version", snakemake.TypeVersion),
			field("workflow_url", "Snakefile"), file("Snakefile", copyInput),
			field("workflow_params", `{"infile": "data/input.txt"}`),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := h.submit("alice", append(tc.parts, file("data/input.txt", "attached by alice\n"))...)
			r, err := h.store.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			// Where cwltool looked before: a file there must not be what is read.
			if err := os.MkdirAll(filepath.Join(r.WorkDir, ".enclave", "data"), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(r.WorkDir, ".enclave", "data", "input.txt"), []byte("state dir\n"), 0o640); err != nil {
				t.Fatal(err)
			}
			if ok, log := runOpen(t, h, reg, id); !ok {
				t.Fatalf("the run failed:\n%s", log)
			}
			got, err := os.ReadFile(filepath.Join(r.WorkDir, tc.output))
			if err != nil || string(got) != "attached by alice\n" {
				t.Fatalf("%s = %q, %v; want the attached file", tc.output, got, err)
			}
		})
	}
}

// An input path that could leave the run's directory, or that names no attachment, is a
// 400 at submission that names the field; nothing of the refused run is left behind.
func TestRelativeInputRefusedAtSubmission(t *testing.T) {
	h, _ := newOpenEngines(t)
	cwlRun := func(params string) []part {
		return []part{field("workflow_type", cwl.WorkflowType), field("workflow_type_version", "v1.2"),
			field("workflow_url", "wf/cat.cwl"), file("wf/cat.cwl", catInput), file("data/input.txt", "x\n"),
			field("workflow_params", params)}
	}
	smkRun := func(params string) []part {
		return []part{field("workflow_type", snakemake.WorkflowType), field("workflow_type_version", snakemake.TypeVersion),
			field("workflow_url", "Snakefile"), file("Snakefile", copyInput), file("data/input.txt", "x\n"),
			field("workflow_params", params)}
	}
	// Another run's work dir, as a relative path from this one's.
	other := "../../" + strings.Repeat("0", 8) + "/work/data/input.txt"
	tests := []struct {
		name    string
		parts   []part
		wantMsg string
	}{
		{"CWL parent", cwlRun(`{"infile": {"class": "File", "path": "` + other + `"}}`), `workflow_params.infile.path: "../../00000000/work/data/input.txt" has a .. segment`},
		{"CWL escaped parent", cwlRun(`{"infile": {"class": "File", "location": "%2e%2e/%2e%2e/x"}}`), `workflow_params.infile.location: "%2e%2e/%2e%2e/x" has a .. segment`},
		{"CWL not attached", cwlRun(`{"infile": {"class": "File", "path": "data/other.txt"}}`), `"data/other.txt" names no file of the run; attach it`},
		{"CWL params file", cwlRun(`{"infile": {"class": "File", "path": "params.json"}}`), `names no file of the run`},
		{"CWL include", cwlRun(`{"infile": {"class": "File", "path": "data/input.txt", "format": {"$include": "/etc/passwd"}}}`), `workflow_params.infile.format.$include: CWL directives`},
		{"SMK parent", smkRun(`{"infile": "` + other + `"}`), `workflow_params.infile: "../../00000000/work/data/input.txt" has a .. segment`},
		{"SMK nested parent", smkRun(`{"samples": [{"reads": "data/../../x"}]}`), `workflow_params.samples[0].reads: "data/../../x" has a .. segment`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := form(t, tt.parts...)
			st, b, _ := h.do(http.MethodPost, BasePath+"/runs", "alice", ct, body)
			if st != http.StatusBadRequest {
				t.Fatalf("status %d: %s", st, b)
			}
			if e := errorBody(t, st, b); !strings.Contains(e.Msg, tt.wantMsg) {
				t.Errorf("msg = %q, want %q", e.Msg, tt.wantMsg)
			}
			if strings.Contains(string(b), h.dataDir) {
				t.Errorf("the answer shows the data dir: %s", b)
			}
			if dirs := h.runDirs(); len(dirs) != 0 {
				t.Errorf("refused runs left directories: %v", dirs)
			}
			if started, _ := h.disp.calls(); len(started) != 0 {
				t.Errorf("refused runs were started: %v", started)
			}
		})
	}
}

// The check reads the attachments of the run being submitted, nothing else: a valid
// relative input is accepted and stored as it was sent (only the engine's own params file
// is rewritten, when the run starts).
func TestRelativeInputStoredAsSent(t *testing.T) {
	h, _ := newOpenEngines(t)
	params := `{"infile": {"class": "File", "path": "data/input.txt"}}`
	id := h.submit("alice", field("workflow_type", cwl.WorkflowType), field("workflow_type_version", "v1.2"),
		field("workflow_url", "wf/cat.cwl"), file("wf/cat.cwl", catInput), file("data/input.txt", "x\n"),
		field("workflow_params", params))
	r, err := h.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if json.Unmarshal(r.Request.WorkflowParams, &got) != nil || json.Unmarshal([]byte(params), &want) != nil {
		t.Fatalf("stored params %s", r.Request.WorkflowParams)
	}
	if g, _ := json.Marshal(got); string(g) != mustMarshal(want) {
		t.Errorf("stored params = %s, want %s", g, params)
	}
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
