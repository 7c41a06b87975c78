package enginekit_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
	"github.com/spe4hd/enclave/pkg/wes"
)

func TestCheckWorkflowPath(t *testing.T) {
	l := enginetest.NewRun(t, "r1", "")
	w := l.WorkDir()
	enginetest.WriteFile(t, w, "wf/main.smk", "x")
	enginetest.WriteFile(t, l.Root, "outside/wf.smk", "x")
	if err := os.Symlink(filepath.Join(l.Root, "outside"), filepath.Join(w, "linkdir")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rel, wantMsg string
	}{
		{"wf/main.smk", ""},
		{"wf/../wf/main.smk", ""},
		{"", "workflow_url must name"},
		{"../outside/wf.smk", "workflow_url must name"},
		{"linkdir/wf.smk", "must be a regular file"},
		{"wf", "must be a regular file"},
		{"wf/main.smk/x", "must be a regular file"},
		{"nope.smk", "names no file"},
	}
	for _, tt := range tests {
		err := enginekit.CheckWorkflowPath(w, tt.rel)
		if tt.wantMsg == "" {
			if err != nil {
				t.Errorf("CheckWorkflowPath(%q) = %v", tt.rel, err)
			}
			continue
		}
		if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.wantMsg) {
			t.Errorf("CheckWorkflowPath(%q) = %v, want %q", tt.rel, err, tt.wantMsg)
		}
	}
}

func TestParamsObject(t *testing.T) {
	for raw, ok := range map[string]bool{"": true, "  ": true, "{}": true, `{"a":1}`: true,
		"null": false, "[]": false, `"x"`: false, "{": false, "1": false} {
		_, err := enginekit.ParamsObject(json.RawMessage(raw))
		if ok != (err == nil) || (err != nil && !wes.IsCode(err, wes.EINVALID)) {
			t.Errorf("ParamsObject(%q) = %v", raw, err)
		}
	}
}

func TestCheckStateDir(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, w string)
		ok    bool
	}{
		{"absent", func(*testing.T, string) {}, true},
		{"regular files", func(t *testing.T, w string) { enginetest.WriteFile(t, w, ".enclave/tmp/x", "x") }, true},
		{"is a file", func(t *testing.T, w string) { enginetest.WriteFile(t, w, ".enclave", "x") }, false},
		{"is a symlink", func(t *testing.T, w string) { must(t, os.Symlink("/tmp", filepath.Join(w, ".enclave"))) }, false},
		{"holds a symlink", func(t *testing.T, w string) {
			must(t, os.MkdirAll(filepath.Join(w, ".enclave"), 0o755))
			must(t, os.Symlink("/tmp", filepath.Join(w, ".enclave", "tmp")))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := enginetest.NewRun(t, "r1", "")
			tt.setup(t, l.WorkDir())
			err := enginekit.CheckStateDir(l.WorkDir())
			if tt.ok != (err == nil) || (err != nil && !wes.IsCode(err, wes.EINVALID)) {
				t.Fatalf("CheckStateDir = %v", err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewFiles(t *testing.T) {
	l := enginetest.NewRun(t, "r1", "")
	w := l.WorkDir()
	enginetest.WriteFile(t, w, "Snakefile", "x")
	enginetest.WriteFile(t, w, "data/in.csv", "x")
	must(t, enginekit.RecordInputs(w))
	enginetest.WriteFile(t, w, "data/in.csv", "changed by the run") // an input stays an input
	must(t, enginekit.RecordInputs(w))                              // a second call keeps the first manifest
	enginetest.WriteFile(t, w, "results/a.txt", "abc")
	enginetest.WriteFile(t, w, "b.txt", "")
	enginetest.WriteFile(t, w, ".snakemake/log/x.log", "x")
	enginetest.WriteFile(t, w, ".enclave/params.json", "{}")
	must(t, os.Symlink("/etc/passwd", filepath.Join(w, "results", "link")))

	out, truncated, err := enginekit.NewFiles(w, []string{".snakemake"}, nil, 100)
	if err != nil || truncated {
		t.Fatal(err, truncated)
	}
	b, _ := json.Marshal(out)
	if string(b) != `{"b.txt":{"path":"b.txt","size":0},"results/a.txt":{"path":"results/a.txt","size":3}}` {
		t.Errorf("NewFiles = %s", b)
	}
	out, truncated, err = enginekit.NewFiles(w, []string{".snakemake"}, []string{"b.txt"}, 100)
	if err != nil || truncated || len(out) != 1 {
		t.Errorf("NewFiles skipping b.txt = %v, %v, %v", out, truncated, err)
	}
	out, truncated, err = enginekit.NewFiles(w, []string{".snakemake"}, nil, 1)
	if err != nil || !truncated || len(out) != 1 {
		t.Errorf("NewFiles limited = %v, %v, %v", out, truncated, err)
	}
}

func TestLogPath(t *testing.T) {
	l := wes.LayoutFor("/data", "run1")
	if got := enginekit.LogPath(l.WorkDir(), "stdout"); got != l.StdoutPath() {
		t.Errorf("LogPath(stdout) = %s, want %s", got, l.StdoutPath())
	}
	if got := enginekit.LogPath(l.WorkDir()+"/", "stderr"); got != l.StderrPath() {
		t.Errorf("LogPath(stderr) = %s, want %s", got, l.StderrPath())
	}
}

func TestDiscoverVersion(t *testing.T) {
	sh := enginetest.RequireBinary(t, "sh")
	v, err := enginekit.DiscoverVersion(context.Background(), sh, "-c", "echo 'tool 3.1.20230209161050 (build 7)'")
	if err != nil || v != "3.1.20230209161050" {
		t.Fatalf("DiscoverVersion = %q, %v", v, err)
	}
	if _, err := enginekit.DiscoverVersion(context.Background(), sh, "-c", "echo no version"); err == nil {
		t.Error("DiscoverVersion without a number succeeded")
	}
	if _, err := enginekit.DiscoverVersion(context.Background(), sh, "-c", "exit 2"); err == nil {
		t.Error("DiscoverVersion of a failing program succeeded")
	}
}
