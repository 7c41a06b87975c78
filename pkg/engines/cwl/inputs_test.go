package cwl_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
	"github.com/spe4hd/enclave/pkg/wes"
)

// catTool reads two files and lists a directory, so a run shows which files cwltool
// resolved its inputs to.
const catTool = `cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'cat "$0" "$1"; ls "$2"']
inputs:
  a: {type: File, inputBinding: {position: 1}}
  b: {type: File, inputBinding: {position: 2}}
  d: {type: Directory, inputBinding: {position: 3}}
stdout: out.txt
outputs:
  out: {type: stdout}
`

// attachedInputs is a workflow with its inputs beside it, as a client attaches them, and a
// link out of the run as a job could never attach one.
func attachedInputs(t *testing.T) (src, outside string) {
	t.Helper()
	src, outside = t.TempDir(), t.TempDir()
	enginetest.WriteFile(t, src, "wf/cat.cwl", catTool)
	enginetest.WriteFile(t, src, "data/input.txt", "attached a\n")
	enginetest.WriteFile(t, src, "data/b-file.txt", "attached b\n")
	enginetest.WriteFile(t, src, "data/refs/ref.txt", "")
	enginetest.WriteFile(t, outside, "secret.txt", "outside\n")
	return src, outside
}

// The case: relative File and Directory paths name the attachments, and cwltool
// reads those (it used to look for them beside the params file, in .enclave/, and fail).
func TestRunRelativeInputs(t *testing.T) {
	src, _ := attachedInputs(t)
	// .enclave/data/input.txt is where cwltool looked before: a file there must not be read.
	enginetest.WriteFile(t, src, ".enclave/data/input.txt", "state dir\n")
	params := `{"a": {"class": "File", "path": "data/input.txt"},
		"b": {"class": "File", "location": "data/b%2Dfile.txt"},
		"d": {"class": "Directory", "path": "./data/refs"}}`
	l, _, code := runReal(t, src, "wf/cat.cwl", params, nil)
	if code != 0 {
		t.Fatalf("cwltool exited %d:\n%s", code, enginetest.Logs(l))
	}
	out, err := os.ReadFile(filepath.Join(l.WorkDir(), "outputs", "out.txt"))
	if want := "attached a\nattached b\nref.txt\n"; err != nil || string(out) != want {
		t.Fatalf("out.txt = %q, %v; want %q", out, err, want)
	}
}

// What Prepare writes: relative references rewritten to resolve against the work dir,
// everything else (absolute dataset paths, URLs, numbers, other fields) as it was.
func TestPrepareRewritesRelativeInputs(t *testing.T) {
	src, _ := attachedInputs(t)
	l := enginetest.NewRun(t, "r1", src)
	params := `{"a": {"class": "File", "path": "data/input.txt", "secondaryFiles": [{"class": "File", "location": "data/b%2Dfile.txt"}]},
		"d": {"class": "Directory", "location": "data/refs", "listing": [{"class": "File", "path": "data/refs/ref.txt"}]},
		"ds": {"class": "File", "path": "/zone/datasets/cohort/patients.csv"},
		"url": {"class": "File", "location": "file:///zone/x.csv"},
		"lit": {"class": "File", "location": "_:lit", "basename": "x.txt", "contents": "hi"},
		"rec": {"path": "notes/x", "n": 1.50, "big": 123456789012345678901234567890},
		"many": [{"class": "File", "path": "data/input.txt"}, "../not-a-path-field"],
		"name": "Ada"}`
	e := cwl.New(cwl.Config{Versions: []string{"3.1.20230209161050"}}, nil)
	if _, err := e.Prepare(context.Background(), wes.PrepareInput{Run: newRun("r1", params, nil), WorkDir: l.WorkDir(), WorkflowPath: "wf/cat.cwl"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(l.WorkDir(), ".enclave", "params.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a": {"class": "File", "path": "../data/input.txt", "secondaryFiles": [{"class": "File", "location": "../data/b%2Dfile.txt"}]},
		"d": {"class": "Directory", "location": "../data/refs", "listing": [{"class": "File", "path": "../data/refs/ref.txt"}]},
		"ds": {"class": "File", "path": "/zone/datasets/cohort/patients.csv"},
		"url": {"class": "File", "location": "file:///zone/x.csv"},
		"lit": {"class": "File", "location": "_:lit", "basename": "x.txt", "contents": "hi"},
		"rec": {"path": "../notes/x", "n": 1.50, "big": 123456789012345678901234567890},
		"many": [{"class": "File", "path": "../data/input.txt"}, "../not-a-path-field"],
		"name": "Ada"}`
	if g, w := canonical(t, got), canonical(t, []byte(want)); g != w {
		t.Errorf("params file =\n%s\nwant\n%s", g, w)
	}
	for _, n := range []string{"1.50", "123456789012345678901234567890"} {
		if !strings.Contains(string(got), n) {
			t.Errorf("params file lost the number %s: %s", n, got)
		}
	}
}

func canonical(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// A relative path that could leave the work dir is refused, however it is written, and so
// is a reference to a file the run does not have; the same checks run at submission
// (engines.CheckInputs) and in Prepare.
func TestRelativeInputsRefused(t *testing.T) {
	src, outside := attachedInputs(t)
	file := func(field, ref string) string {
		b, _ := json.Marshal(map[string]any{"a": map[string]string{"class": "File", field: ref}})
		return string(b)
	}
	tests := []struct{ name, params, wantMsg string }{
		{"parent", file("path", "../secret.txt"), `workflow_params.a.path: "../secret.txt" has a .. segment`},
		{"parent inside", file("path", "data/../../secret.txt"), `has a .. segment`},
		{"parent location", file("location", "data/../input.txt"), `workflow_params.a.location: "data/../input.txt" has a .. segment`},
		{"escaped parent", file("location", "%2e%2e/%2E%2E/secret.txt"), `has a .. segment`},
		{"escaped in path", file("path", "data/%2e%2e/%2e%2e/x"), `has a .. segment`},
		{"escaped slash", file("path", "..%2fsecret.txt"), `has a .. segment`},
		{"scheme relative", file("location", "x:../../secret.txt"), `has a .. segment`},
		{"bad escape", file("location", "data/%zz"), `is not a valid URI reference`},
		{"empty", file("path", ""), `workflow_params.a.path is empty`},
		{"missing", file("path", "data/nope.txt"), `"data/nope.txt" names no file of the run; attach it`},
		{"missing beside the params file", file("path", "params.json"), `names no file of the run`},
		{"link to a file", file("path", "data/secret.txt"), `"data/secret.txt" passes through a link`},
		{"link to a dir", file("location", "out/secret.txt"), `passes through a link`},
		{"directory as file", file("path", "data"), `"data" is not a regular file`},
		{"file as directory", `{"d": {"class": "Directory", "path": "data/input.txt"}}`, `is not a directory`},
		{"nested secondary", `{"a": {"class": "File", "path": "data/input.txt", "secondaryFiles": [{"class": "File", "path": "../x"}]}}`,
			`workflow_params.a.secondaryFiles[0].path: "../x" has a .. segment`},
		{"nested include", `{"a": {"rec": {"$include": "data/input.txt"}}}`, `workflow_params.a.rec.$include: CWL directives`},
		{"import in list", `{"a": [{"$import": "/etc/passwd"}]}`, `workflow_params.a[0].$import: CWL directives`},
		{"mixin", `{"a": {"$mixin": "x.yml", "class": "File"}}`, `CWL directives`},
		{"top-level directive", `{"$include": "x"}`, `"$include" is not an input name`},
	}
	e := cwl.New(cwl.Config{Versions: []string{"3.1.20230209161050"}}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := enginetest.NewRun(t, "r1", src)
			for link, target := range map[string]string{"data/secret.txt": filepath.Join(outside, "secret.txt"), "out": outside} {
				if err := os.Symlink(target, filepath.Join(l.WorkDir(), link)); err != nil {
					t.Fatal(err)
				}
			}
			check := func(what string, err error) {
				t.Helper()
				if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.wantMsg) {
					t.Fatalf("%s: err = %v, want EINVALID with %q", what, err, tt.wantMsg)
				}
				if msg := wes.ErrorMessage(err); strings.Contains(msg, l.Root) || strings.Contains(msg, outside) {
					t.Errorf("%s: the message shows a path of the machine: %s", what, msg)
				}
			}
			check("CheckInputs", engines.CheckInputs(e, l.WorkDir(), json.RawMessage(tt.params)))
			if _, err := os.Lstat(filepath.Join(l.WorkDir(), ".enclave")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("CheckInputs wrote into the work dir: %v", err)
			}
			_, err := e.Prepare(context.Background(), wes.PrepareInput{Run: newRun("r1", tt.params, nil), WorkDir: l.WorkDir(), WorkflowPath: "wf/cat.cwl"})
			check("Prepare", err)
		})
	}
}
