// Package enginetest helps the engine adapters' tests run a real engine the way the
// runner does: a run laid out as wes.LayoutFor says, the job's argv executed with os/exec
// in its work dir, stdout and stderr in the layout's log files.
package enginetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// NewRun lays out a run with id under a temp data dir, copies the files of srcDir into
// its work dir and returns the layout.
func NewRun(t testing.TB, id, srcDir string) wes.Layout {
	t.Helper()
	l := wes.LayoutFor(t.TempDir(), id)
	for _, d := range []string{l.WorkDir(), l.LogDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if srcDir != "" {
		CopyDir(t, srcDir, l.WorkDir())
	}
	return l
}

// CopyDir copies the regular files under src into dst.
func CopyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// WriteFile writes a file under dir, creating parent directories.
func WriteFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Exec runs job as a local executor would (argv in job.WorkDir, the environment plus
// job.Env, streams to the layout's log files) and returns its exit code.
func Exec(t testing.TB, l wes.Layout, job *wes.Job, timeout time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stdout, err := os.Create(l.StdoutPath())
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(l.StderrPath())
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.CommandContext(ctx, job.Argv[0], job.Argv[1:]...)
	cmd.Dir = job.WorkDir
	cmd.Env = os.Environ()
	for k, v := range job.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil:
		t.Fatalf("%s did not end within %s", job.Argv[0], timeout)
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", job.Argv, err)
	}
	return -1
}

// Logs returns the job's stderr, for failure messages.
func Logs(l wes.Layout) string {
	b, _ := os.ReadFile(l.StderrPath())
	return string(b)
}

// AssertNoAbsPaths fails when the JSON form of v contains the absolute path root, or any
// "file://" URL or string that starts with "/".
func AssertNoAbsPaths(t testing.TB, v any, root string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, root) || strings.Contains(s, "file://") || strings.Contains(s, `":"/`) || strings.Contains(s, `["/`) {
		t.Errorf("absolute path in %s", s)
	}
}

// RequireBinary returns the path of the named program, or skips the test when it is not
// installed, except under CI (CI=true), where a missing engine fails the test: CI must
// run the real engines.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed, and CI must run the real engine: %v", name, err)
		}
		t.Skipf("SKIP: %s is not installed (%v); install it (see scripts) to run this test", name, err)
	}
	return p
}

// Pins returns the sha256 of each file rel under dir, as a catalogue entry pins them
// (engines.Workflow.Pins).
func Pins(t testing.TB, dir string, rels ...string) map[string]string {
	t.Helper()
	pins := map[string]string{}
	for _, rel := range rels {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		pins[rel] = hex.EncodeToString(sum[:])
	}
	return pins
}
