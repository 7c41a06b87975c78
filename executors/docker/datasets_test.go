package docker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/docker"
	"github.com/spe4hd/enclave/pkg/wes"
)

// zone is a dataset root with two datasets, a symlink to one of them, and a symlink to a
// directory outside the root.
type zone struct {
	root, a, b, linkA, escape, outside string
}

func newZone(t *testing.T) zone {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	z := zone{root: root, a: filepath.Join(root, "cohort-a"), b: filepath.Join(root, "cohort-b"),
		linkA: filepath.Join(root, "latest"), escape: filepath.Join(root, "escape"), outside: outside}
	for dir, file := range map[string]string{z.a: "a.txt", z.b: "b.txt", outside: "secret.txt"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(file+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// t.TempDir is 0700: the container's user must be able to pass through the root.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("cohort-a", z.linkA); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, z.escape); err != nil {
		t.Fatal(err)
	}
	return z
}

func uniqueID(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
}

// A job sees exactly its datasets, read-only, at their paths; the rest of the root and
// anything outside it are not there.
func TestJobDatasets(t *testing.T) {
	z := newZone(t)
	ex := newExecutor(t, func(c *docker.Config) { c.DatasetRoots = []string{z.root} })
	for _, c := range []struct {
		name string
		ds   []wes.DatasetMount
		want []string // lines the job must print
	}{
		{"own dataset only", []wes.DatasetMount{{ID: "a", Path: z.a}}, []string{
			"a: a.txt", "a: read-only", "root: cohort-a", "b: absent", "outside: absent"}},
		{"symlink inside the roots", []wes.DatasetMount{{ID: "latest", Path: z.linkA}}, []string{
			"latest: a.txt", "latest: read-only", "root: latest", "a: absent", "b: absent"}},
		{"two datasets", []wes.DatasetMount{{ID: "b", Path: z.b}, {ID: "a", Path: z.a}}, []string{
			"a: a.txt", "b: b.txt", "b: read-only", "root: cohort-a cohort-b", "outside: absent"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			script := strings.Join([]string{
				probe("a", z.a), probe("b", z.b), probe("latest", z.linkA), probe("outside", z.outside),
				"echo root: $(ls " + z.root + ")",
			}, "\n")
			job := newJob(t, uniqueID("ds"), script)
			job.Datasets = c.ds
			_, st := run(t, ex, job)
			if st.State != wes.JobSucceeded {
				t.Fatalf("status = %+v; stderr %s", st, readFile(t, job.Stderr))
			}
			out := readFile(t, job.Stdout)
			for _, w := range c.want {
				if !strings.Contains(out, w+"\n") {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// probe prints what the job can see at dir: its files, or "absent", and whether it can write.
func probe(name, dir string) string {
	return "if [ -e " + dir + " ]; then echo " + name + ": $(ls " + dir + "); touch " + dir + "/w 2>/dev/null && echo " + name +
		": writable || echo " + name + ": read-only; else echo " + name + ": absent; fi"
}

// Datasets the executor must not mount are refused at Submit with EINVALID, naming the
// dataset by id and never by its path.
func TestJobDatasetsRefused(t *testing.T) {
	z := newZone(t)
	ex := newExecutor(t, func(c *docker.Config) { c.DatasetRoots = []string{z.root} })
	noRoots := newExecutor(t, nil)
	for _, c := range []struct {
		name string
		ex   *docker.Executor
		ds   wes.DatasetMount
		want string
	}{
		{"outside the roots", ex, wes.DatasetMount{ID: "other", Path: z.outside}, "outside the docker executor's dataset roots"},
		{"symlink out of the roots", ex, wes.DatasetMount{ID: "escape", Path: z.escape}, "outside the docker executor's dataset roots"},
		{"through a symlink out of the roots", ex, wes.DatasetMount{ID: "deep", Path: filepath.Join(z.escape, "secret.txt")}, "outside the docker executor's dataset roots"},
		{"missing", ex, wes.DatasetMount{ID: "gone", Path: filepath.Join(z.root, "gone")}, "does not exist"},
		{"relative", ex, wes.DatasetMount{ID: "rel", Path: "cohort-a"}, "absolute"},
		{"not clean", ex, wes.DatasetMount{ID: "dots", Path: z.a + "/../cohort-b"}, "absolute and clean"},
		{"no roots configured", noRoots, wes.DatasetMount{ID: "a", Path: z.a}, "dataset_roots is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			job := newJob(t, uniqueID("refused"), "echo ran")
			job.Datasets = []wes.DatasetMount{c.ds}
			h, err := c.ex.Submit(context.Background(), job)
			if err == nil {
				_ = c.ex.Cancel(context.Background(), h)
				_ = c.ex.Cleanup(context.Background(), h)
				t.Fatal("Submit accepted the job")
			}
			if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Submit = %v, want %s mentioning %q", err, wes.EINVALID, c.want)
			}
			if msg := wes.ErrorMessage(err); strings.Contains(msg, z.root) || strings.Contains(msg, z.outside) {
				t.Errorf("message %q shows a path inside the zone", msg)
			}
		})
	}
}

// A work dir the worker (root) created 0750, with a staged file only root can read, is
// handed over to the container's non-root user, which can then read and write in it.
func TestWorkDirHandedOver(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: the hand-over needs a root worker; this test runs as uid", os.Geteuid())
	}
	ex := newExecutor(t, nil)
	job := newJob(t, uniqueID("handover"), "cat staged/Snakefile && echo out > result.txt")
	if err := os.Chmod(job.WorkDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(job.WorkDir, "staged"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(job.WorkDir, "staged", "Snakefile"), []byte("rule all:\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, st := run(t, ex, job)
	if st.State != wes.JobSucceeded {
		t.Fatalf("status = %+v; stderr %s", st, readFile(t, job.Stderr))
	}
	if got := readFile(t, filepath.Join(job.WorkDir, "result.txt")); got != "out\n" {
		t.Errorf("result.txt = %q", got)
	}
}
