package catalog_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/wes"
)

func TestLoadBase(t *testing.T) {
	c, _ := mustLoad(t)
	if w, d := c.Len(); w != 3 || d != 4 {
		t.Fatalf("Len = %d workflows, %d datasets; want 3, 4", w, d)
	}
	e, ok := c.Entry("wf-a")
	if !ok {
		t.Fatal("no entry wf-a")
	}
	if e.Main != "Snakefile" || len(e.Files) != 2 || e.Files[1].Path != "lib/helper.py" {
		t.Errorf("files = %+v, main %q", e.Files, e.Main)
	}
	if !slices.Equal(e.DatasetParams, []string{"cohort", "cohorts"}) {
		t.Errorf("DatasetParams = %v", e.DatasetParams)
	}
	if e.Logs != wes.LogsAdmin || e.Egress != wes.EgressAuto {
		t.Errorf("defaults: logs %q, egress %q", e.Logs, e.Egress)
	}
	if e.Resources.CPUs != 2 || e.Resources.MemoryMB != 256 || e.Resources.TimeLimit.Minutes() != 5 {
		t.Errorf("resources = %+v", e.Resources)
	}
	if e.Outputs.MaxFileBytes != 1000 || !slices.Equal(e.Outputs.Globs, []string{"results/**/*.csv"}) {
		t.Errorf("outputs = %+v", e.Outputs)
	}
	b, _ := c.Entry("wf-b")
	if b.Logs != wes.LogsOwner || b.Egress != wes.EgressReview {
		t.Errorf("wf-b logs %q, egress %q", b.Logs, b.Egress)
	}
	got := c.WorkflowTypes()
	if len(got) != 2 || !slices.Equal(got["SMK"], []string{"1.0"}) || !slices.Equal(got["CWL"], []string{"v1.2"}) {
		t.Errorf("WorkflowTypes = %v", got)
	}
}

// Every validation rule of the loader, one case each: the problem must name the entry
// and field.
func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, zone string, doc map[string]any)
		want []string
	}{
		{"unknown top-level field", func(_ *testing.T, _ string, d map[string]any) { d["colour"] = "blue" },
			[]string{"unknown field colour"}},
		{"unknown entry field", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 0)["sha"] = "x" },
			[]string{"unknown field sha"}},
		{"unknown outputs field", func(_ *testing.T, _ string, d map[string]any) {
			workflow(d, 0)["outputs"].(map[string]any)["max_size"] = 1
		}, []string{"unknown field max_size"}},
		{"id missing", func(_ *testing.T, _ string, d map[string]any) { delete(workflow(d, 1), "id") },
			[]string{"workflows[1].id: required"}},
		{"id malformed", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 1)["id"] = "Workflow B" },
			[]string{`workflows[1].id: "Workflow B" must match`}},
		{"id twice", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 1)["id"] = "wf-a" },
			[]string{`workflows[wf-a].id: "wf-a" is used twice`}},
		{"name and version missing", func(_ *testing.T, _ string, d map[string]any) {
			delete(workflow(d, 0), "name")
			delete(workflow(d, 0), "version")
		}, []string{"workflows[wf-a].name: required", "workflows[wf-a].version: required"}},
		{"engine missing", func(_ *testing.T, _ string, d map[string]any) { delete(workflow(d, 0), "engine") },
			[]string{"workflows[wf-a].engine: required"}},
		{"engine unknown", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 0)["engine"] = "make" },
			[]string{`workflows[wf-a].engine: "make" is not an engine of this server; known: snakemake, cwltool, nextflow`}},
		{"type not the engine's", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 0)["workflow_type"] = "CWL" },
			[]string{`workflows[wf-a].workflow_type: "CWL" is not what snakemake runs (SMK)`}},
		{"type version unknown", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 1)["workflow_type_version"] = "v2.0" },
			[]string{`workflows[wf-b].workflow_type_version: "v2.0" is not one of cwltool's: v1.0, v1.1, v1.2`}},
		{"engine version malformed", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 0)["engine_version"] = "7 21; rm" },
			[]string{"workflows[wf-a].engine_version: "}},
		{"dir outside root", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 0)["dir"] = "../data" },
			[]string{"workflows[wf-a].dir: a relative dir must stay inside root"}},
		{"dir missing", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 0)["dir"] = "nope" },
			[]string{"workflows[wf-a].dir: is not a directory"}},
		{"no files", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 0)["files"] = []any{} },
			[]string{"workflows[wf-a].files: at least one file"}},
		{"file path escapes", func(_ *testing.T, _ string, d map[string]any) { file(d, 0, 0)["path"] = "../b/main.cwl" },
			[]string{`workflows[wf-a].files[0].path: "../b/main.cwl" must be a clean relative path`}},
		{"file path absolute", func(_ *testing.T, _ string, d map[string]any) { file(d, 0, 0)["path"] = "/etc/passwd" },
			[]string{`workflows[wf-a].files[0].path: "/etc/passwd" must be a clean relative path`}},
		{"file path hidden", func(_ *testing.T, _ string, d map[string]any) { file(d, 0, 1)["path"] = ".enclave/params.json" },
			[]string{`workflows[wf-a].files[1].path: ".enclave/params.json" must not start with a hidden name`}},
		{"file missing", func(_ *testing.T, _ string, d map[string]any) { file(d, 0, 1)["path"] = "lib/gone.py" },
			[]string{"workflows[wf-a].files[1].path: cannot be read: no such file or directory"}},
		{"file twice", func(_ *testing.T, _ string, d map[string]any) { file(d, 0, 1)["path"] = "Snakefile" },
			[]string{`workflows[wf-a].files[1].path: "Snakefile" is listed twice`}},
		{"file is a symlink", func(t *testing.T, zone string, d map[string]any) {
			if err := os.Symlink(filepath.Join(zone, "data/a.csv"), filepath.Join(zone, "wf/a/link.csv")); err != nil {
				t.Fatal(err)
			}
			file(d, 0, 1)["path"] = "link.csv"
		}, []string{"workflows[wf-a].files[1].path: must be a regular file, not a symlink"}},
		{"sha256 malformed", func(_ *testing.T, _ string, d map[string]any) { file(d, 0, 0)["sha256"] = "ABC" },
			[]string{"workflows[wf-a].files[0].sha256: must be 64 lower-case hex digits"}},
		{"sha256 mismatch", func(_ *testing.T, _ string, d map[string]any) { file(d, 0, 0)["sha256"] = strings.Repeat("0", 64) },
			[]string{"workflows[wf-a].files[0].sha256: mismatch: Snakefile has sha256 "}},
		{"main not a file", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 0)["main"] = "main.smk" },
			[]string{`workflows[wf-a].main: "main.smk" is not one of the files`}},
		{"schema not an object", func(_ *testing.T, _ string, d map[string]any) { schema(d, 0)["type"] = "array" },
			[]string{`workflows[wf-a].params_schema: type: must be "object"`}},
		{"schema open", func(_ *testing.T, _ string, d map[string]any) { delete(schema(d, 0), "additionalProperties") },
			[]string{"workflows[wf-a].params_schema: additionalProperties: must be false"}},
		{"schema other draft", func(_ *testing.T, _ string, d map[string]any) {
			schema(d, 0)["$schema"] = "http://json-schema.org/draft-07/schema#"
		}, []string{"workflows[wf-a].params_schema: $schema must be https://json-schema.org/draft/2020-12/schema"}},
		{"schema external ref", func(_ *testing.T, _ string, d map[string]any) {
			props(d, 0)["label"] = map[string]any{"$ref": "file:///etc/passwd"}
		}, []string{"workflows[wf-a].params_schema: does not compile"}},
		{"schema bad regex", func(_ *testing.T, _ string, d map[string]any) {
			props(d, 0)["sample"] = map[string]any{"type": "string", "pattern": "(unclosed"}
		}, []string{"workflows[wf-a].params_schema: does not compile"}},
		{"schema bad keyword value", func(_ *testing.T, _ string, d map[string]any) {
			props(d, 0)["count"] = map[string]any{"type": "integer", "minimum": "one"}
		}, []string{"workflows[wf-a].params_schema: does not compile"}},
		{"dataset keyword nested", func(_ *testing.T, _ string, d map[string]any) {
			props(d, 0)["opts"].(map[string]any)["properties"].(map[string]any)["note"] =
				map[string]any{"type": "string", catalog.DatasetKeyword: true}
		}, []string{"workflows[wf-a].params_schema: x-enclave-dataset at /properties/opts/properties/note: allowed only on a top-level property"}},
		{"dataset keyword on an integer", func(_ *testing.T, _ string, d map[string]any) {
			props(d, 0)["cohort"] = map[string]any{"type": "integer", catalog.DatasetKeyword: true}
		}, []string{`x-enclave-dataset at /properties/cohort: a dataset parameter must have "type": "string"`}},
		{"dataset keyword not true", func(_ *testing.T, _ string, d map[string]any) {
			props(d, 0)["cohort"] = map[string]any{"type": "string", catalog.DatasetKeyword: "yes"}
		}, []string{"x-enclave-dataset at /properties/cohort: must be true"}},
		{"dataset list not an array", func(_ *testing.T, _ string, d map[string]any) {
			props(d, 0)["cohorts"].(map[string]any)["type"] = "object"
		}, []string{`x-enclave-dataset at /properties/cohorts/items: a dataset list must have "type": "array"`}},
		{"engine param unknown", func(_ *testing.T, _ string, d map[string]any) {
			workflow(d, 0)["allowed_engine_params"] = []any{map[string]any{"name": "shell"}}
		}, []string{`workflows[wf-a].allowed_engine_params[0].name: "shell" is not a parameter of snakemake; known: cores,`}},
		{"engine param bad fixed value", func(_ *testing.T, _ string, d map[string]any) {
			workflow(d, 0)["allowed_engine_params"] = []any{map[string]any{"name": "cores", "value": "999"}}
		}, []string{"workflows[wf-a].allowed_engine_params[0].value: cores must be an integer from 1 to 64"}},
		{"engine param twice", func(_ *testing.T, _ string, d map[string]any) {
			workflow(d, 0)["allowed_engine_params"] = []any{map[string]any{"name": "cores"}, map[string]any{"name": "cores"}}
		}, []string{`workflows[wf-a].allowed_engine_params[1].name: "cores" is listed twice`}},
		{"no globs", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 0)["outputs"] = map[string]any{} },
			[]string{"workflows[wf-a].outputs.globs: at least one glob is required"}},
		{"globs", func(_ *testing.T, _ string, d map[string]any) {
			workflow(d, 0)["outputs"] = map[string]any{"globs": []any{
				"/etc/*", "../x", "results/../../x", "**/*.csv", ".enclave/params.json", "results/[", "*.csv", "results//x", ""},
				"max_file_bytes": -1}
		}, []string{
			`outputs.globs[0]: "/etc/*" must be relative`, `outputs.globs[1]: "../x" must not contain ..`,
			`outputs.globs[2]: "results/../../x" must not contain ..`, `outputs.globs[3]: "**/*.csv" must start with a plain`,
			`outputs.globs[4]: ".enclave/params.json" must not start with a hidden name`, `outputs.globs[5]: "results/[" is not a valid glob`,
			`outputs.globs[6]: "*.csv" must start with a plain`, `outputs.globs[7]: "results//x" must be a clean path`,
			`outputs.globs[8]: "" is empty`, "workflows[wf-a].outputs: max_file_bytes, max_total_bytes and max_files must not be negative"}},
		{"logs and egress", func(_ *testing.T, _ string, d map[string]any) {
			workflow(d, 0)["logs"] = "public"
			workflow(d, 0)["egress"] = "never"
		}, []string{`workflows[wf-a].logs: "public" must be none, admin or owner`, `workflows[wf-a].egress: "never" must be auto or review`}},
		{"approvals", func(_ *testing.T, _ string, d map[string]any) {
			workflow(d, 0)["approvals"] = 2 // under egress auto
			workflow(d, 1)["approvals"] = 9
		}, []string{"workflows[wf-a].approvals: 2 approvals need egress: review", "approvals: 9 must be between 1 and 5"}},
		{"resources", func(_ *testing.T, _ string, d map[string]any) {
			workflow(d, 0)["resources"] = map[string]any{"cpus": -1, "memory_mb": -5, "time_limit": "forever"}
		}, []string{"workflows[wf-a].resources.cpus: must be from 0 to", "workflows[wf-a].resources.memory_mb: must be from 0 to",
			`workflows[wf-a].resources.time_limit: "forever" must be a positive duration`}},
		{"empty group", func(_ *testing.T, _ string, d map[string]any) { workflow(d, 0)["groups"] = []any{"team-a", " "} },
			[]string{"workflows[wf-a].groups[1]: empty"}},
		{"dataset id missing and name missing", func(_ *testing.T, _ string, d map[string]any) {
			delete(dataset(d, 1), "id")
			delete(dataset(d, 2), "name")
		}, []string{"datasets[1].id: required", "datasets[ds-open].name: required"}},
		{"dataset id twice", func(_ *testing.T, _ string, d map[string]any) { dataset(d, 1)["id"] = "ds-a" },
			[]string{`datasets[ds-a].id: "ds-a" is used twice`}},
		{"dataset path missing", func(_ *testing.T, _ string, d map[string]any) { delete(dataset(d, 0), "path") },
			[]string{"datasets[ds-a].path: required"}},
		{"dataset path escapes", func(_ *testing.T, _ string, d map[string]any) { dataset(d, 0)["path"] = "../wf/a/Snakefile" },
			[]string{"datasets[ds-a].path: a relative path must stay inside data_root"}},
		{"dataset path does not exist", func(_ *testing.T, _ string, d map[string]any) { dataset(d, 0)["path"] = "gone.csv" },
			[]string{"datasets[ds-a].path: cannot be read: no such file or directory"}},
		{"data_root not a directory", func(_ *testing.T, _ string, d map[string]any) { d["data_root"] = "data/a.csv" },
			[]string{"data_root: "}},
		{"policy", func(_ *testing.T, _ string, d map[string]any) {
			d["policy"] = []any{
				map[string]any{"groups": []any{"g"}, "workflows": []any{"wf-x"}, "datasets": []any{"ds-x"}},
				map[string]any{"workflows": []any{"wf-a"}},
				map[string]any{"roles": []any{"researcher"}},
			}
		}, []string{`policy[0].workflows[0]: no workflow has id "wf-x"`, `policy[0].datasets[0]: no dataset has id "ds-x"`,
			"policy[1]: names no groups and no roles", "policy[2]: allows no workflows and no datasets"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			zone := newZone(t)
			doc := baseDoc(t)
			tt.edit(t, zone, doc)
			c, err := catalog.Load(writeCatalog(t, zone, toYAML(t, doc)))
			if c != nil {
				t.Fatal("Load returned a catalogue along with problems")
			}
			got := problems(t, err)
			for _, want := range tt.want {
				if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, want) }) {
					t.Errorf("no problem contains %q; problems:\n  %s", want, strings.Join(got, "\n  "))
				}
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	for name, tt := range map[string]struct{ content, want string }{
		"missing":     {"", "cannot read the catalogue"},
		"not yaml":    {"workflows: [\n", "not valid YAML"},
		"wrong shape": {"workflows: {a: 1}\n", "cannot unmarshal"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name+".yaml")
			if tt.content != "" {
				writeFile(t, p, tt.content)
			}
			_, err := catalog.Load(p)
			if got := problems(t, err); len(got) == 0 || !strings.Contains(got[0], tt.want) {
				t.Fatalf("problems = %q, want %q", got, tt.want)
			}
		})
	}
}

// An empty catalogue is valid: a zone may publish its workflows later.
func TestLoadEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, p, "# nothing yet\n")
	c, err := catalog.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if w, d := c.Len(); w != 0 || d != 0 || len(c.Visible(&wes.Principal{Groups: []string{"x"}})) != 0 {
		t.Fatalf("empty catalogue: %d, %d", w, d)
	}
}

func file(doc map[string]any, w, i int) map[string]any {
	return workflow(doc, w)["files"].([]any)[i].(map[string]any)
}

func schema(doc map[string]any, w int) map[string]any {
	return workflow(doc, w)["params_schema"].(map[string]any)
}

func props(doc map[string]any, w int) map[string]any {
	return schema(doc, w)["properties"].(map[string]any)
}
