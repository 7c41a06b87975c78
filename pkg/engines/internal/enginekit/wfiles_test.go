package enginekit_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
)

func TestWorkflowFiles(t *testing.T) {
	l := enginetest.NewRun(t, "r1", "")
	w := l.WorkDir()
	enginetest.WriteFile(t, w, "Snakefile", "main")
	enginetest.WriteFile(t, w, "rules/a.smk", "a")
	enginetest.WriteFile(t, l.Root, "outside.smk", "outside")
	enginetest.WriteFile(t, w, "big.smk", strings.Repeat("x", enginekit.MaxWorkflowFileBytes+1))
	must(t, os.Symlink(filepath.Join(l.Root, "outside.smk"), filepath.Join(w, "out.smk")))
	must(t, os.Symlink("rules/a.smk", filepath.Join(w, "in.smk")))
	must(t, os.Symlink(l.Root, filepath.Join(w, "up")))
	must(t, syscall.Mkfifo(filepath.Join(w, "fifo.smk"), 0o644))

	files := enginekit.OpenWorkflowFiles(engines.Workflow{WorkDir: w})
	defer files.Close()
	for rel, want := range map[string]string{
		"Snakefile": "main", "./rules/../rules/a.smk": "a",
		"../outside.smk": "", "/etc/passwd": "", "out.smk": "", "in.smk": "", "up/outside.smk": "",
		"fifo.smk": "", "big.smk": "", "missing.smk": "", "": "", `rules\a.smk`: "",
	} {
		data, ok := files.Read(rel)
		if string(data) != want || ok != (want != "") {
			t.Errorf("Read(%q) = %q, %v; want %q", rel, data, ok, want)
		}
	}
	if _, ok := files.Read("Snakefile"); ok {
		t.Error("a file was read twice")
	}
}

// With pins, only pinned files whose content still matches are read: the job may have
// rewritten its staged workflow.
func TestWorkflowFilesPinned(t *testing.T) {
	l := enginetest.NewRun(t, "r1", "")
	w := l.WorkDir()
	enginetest.WriteFile(t, w, "Snakefile", "main")
	enginetest.WriteFile(t, w, "rules/a.smk", "a")
	pins := enginetest.Pins(t, w, "Snakefile", "rules/a.smk")
	enginetest.WriteFile(t, w, "rules/a.smk", "rule DATA_ROW:") // written by the job
	enginetest.WriteFile(t, w, "new.smk", "rule DATA_ROW:")
	pins["Snakefile"] = strings.ToUpper(pins["Snakefile"])

	files := enginekit.OpenWorkflowFiles(engines.Workflow{WorkDir: w, Pins: pins})
	defer files.Close()
	if data, ok := files.Read("Snakefile"); !ok || string(data) != "main" {
		t.Errorf("pinned file = %q, %v", data, ok)
	}
	for _, rel := range []string{"rules/a.smk", "new.smk"} {
		if data, ok := files.Read(rel); ok {
			t.Errorf("Read(%q) = %q: changed or unpinned files must not be read", rel, data)
		}
	}
}

func TestRef(t *testing.T) {
	for _, tc := range []struct{ from, ref, want string }{
		{"Snakefile", "rules/a.smk", "rules/a.smk"},
		{"wf/main.smk", "../common.smk", "common.smk"},
		{"wf/main.smk", "../../x", ""},
		{"main.nf", "/etc/passwd", ""},
		{"main.cwl", "https://example.org/tool.cwl", ""},
		{"main.cwl", "", ""},
	} {
		got, ok := enginekit.Ref(tc.from, tc.ref)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Ref(%q, %q) = %q, %v", tc.from, tc.ref, got, ok)
		}
	}
}
