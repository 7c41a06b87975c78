package slurm

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/executortest"
	"github.com/spe4hd/enclave/pkg/wes"
)

// sftpConfig is the test cluster with the sftp workspace: the worker's data directory is
// a fresh local directory the cluster's user cannot read, and runs are copied to a fresh
// directory under the shared work root (which only the test, as root, may also read).
func (c cluster) sftpConfig(t *testing.T) (cfg Config, local, remoteBase string) {
	t.Helper()
	local = t.TempDir()
	// Shared by the logins, like a cluster's scratch: each creates its own {login} in it.
	remoteBase = filepath.Join(c.workRoot, "sftp-"+randHex(t))
	if err := os.Mkdir(remoteBase, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(remoteBase, 0o1777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(remoteBase) })
	cfg = c.config()
	cfg.WorkRoot = ""
	cfg.Workspace, cfg.LocalRoot, cfg.RemoteRoot = WorkspaceSFTP, local, remoteBase+"/{login}"
	return cfg, local, remoteBase
}

// runJob makes the run directory <local>/runs/<id> as the runner does (work and logs),
// writes files (name → content; a name ending in ".sh" is executable) into the work dir
// and returns a job running script there with sh.
func runJob(t *testing.T, local, id, script string, files map[string]string) *wes.Job {
	t.Helper()
	l := wes.LayoutFor(local, id)
	for _, d := range []string{l.WorkDir(), l.LogDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		p := filepath.Join(l.WorkDir(), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o640)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o750
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return &wes.Job{ID: id, Argv: []string{"sh", "-c", script}, WorkDir: l.WorkDir(), Stdout: l.StdoutPath(), Stderr: l.StderrPath()}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

// TestSFTPWorkspace runs a job on a copy of its work directory and brings the results
// back: argv and environment paths are mapped, links and special files the job made are
// not copied, nothing is written through a link, and the cluster copy is removed.
func TestSFTPWorkspace(t *testing.T) {
	c := testCluster(t)
	cfg, local, remoteBase := c.sftpConfig(t)
	ex := newExecutor(t, cfg)
	ctx := context.Background()
	id := "sftp-" + randHex(t)
	script := `set -e
cat in/data.txt > out.txt
./tool.sh > tool.txt
printf '%s' "$1" > arg.txt
printf '%s' "$WD" > env.txt
pwd > pwd.txt
id -u > uid.txt
mkdir -p deep/er && echo d > deep/er/f.txt
ln -s /etc/hostname link.txt
ln -s /etc etcdir
mkfifo fifo
rm in/data.txt && ln -s /etc/shadow in/data.txt
rm -r sub && echo now-a-file > sub
echo to-stdout; echo to-stderr >&2`
	job := runJob(t, local, id, script, map[string]string{"in/data.txt": "hello\n", "tool.sh": "#!/bin/sh\necho tool\n", "sub/keep.txt": "k\n"})
	localWork := job.WorkDir
	job.Argv = append(job.Argv, "sh", filepath.Join(localWork, "arg"))
	job.Env = map[string]string{"WD": localWork}
	remoteWork := filepath.Join(remoteBase, c.user, "runs", id, "work")

	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Dir(remoteWork))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("remote run dir: %v, %v; want mode 0700", fi, err)
	}
	if st := waitEnded(t, ex, h); st.State != wes.JobSucceeded {
		t.Fatalf("status %+v; stderr on the cluster: %q", st, readFile(t, filepath.Join(remoteBase, c.user, "runs", id, "logs", "stderr.log")))
	}
	if _, err := os.Stat(filepath.Join(localWork, "out.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("out.txt is local before Collect: %v", err)
	}
	// A new executor instance (a restarted worker) collects from the handle alone.
	if err := newExecutor(t, cfg).Collect(ctx, h); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	u, err := user.Lookup(c.user)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"out.txt": "hello\n", "tool.txt": "tool\n", "arg.txt": remoteWork + "/arg", "env.txt": remoteWork,
		"pwd.txt": remoteWork + "\n", "uid.txt": u.Uid + "\n", "deep/er/f.txt": "d\n", "sub": "now-a-file\n",
		"in/data.txt": "hello\n", // the job replaced it by a link: the worker keeps its own copy
	} {
		if got := readFile(t, filepath.Join(localWork, name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"link.txt", "etcdir", "fifo"} {
		if _, err := os.Lstat(filepath.Join(localWork, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s was copied back: %v", name, err)
		}
	}
	if got := readFile(t, job.Stdout); got != "to-stdout\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := readFile(t, job.Stderr); !strings.Contains(got, "to-stderr") {
		t.Errorf("stderr = %q", got)
	}
	if err := ex.Collect(ctx, h); err != nil {
		t.Errorf("second Collect: %v", err)
	}
	// A repeated Submit finds the job and copies nothing again (the job's outputs stay).
	h2, err := ex.Submit(ctx, job)
	if err != nil || string(h2.Data) != string(h.Data) {
		t.Errorf("repeated Submit = %s, %v; want the same handle %s", h2.Data, err, h.Data)
	}
	if _, err := os.Stat(filepath.Join(remoteWork, "out.txt")); err != nil {
		t.Errorf("the repeated Submit touched the cluster copy: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := ex.Cleanup(ctx, h); err != nil {
			t.Fatalf("Cleanup #%d: %v", i+1, err)
		}
	}
	if _, err := os.Lstat(filepath.Dir(remoteWork)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the run dir is still on the cluster after Cleanup: %v", err)
	}
	if err := ex.Collect(ctx, h); err == nil || wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Collect after Cleanup = %v; want an error that is not %s", err, wes.EUNAVAILABLE)
	}
}

// TestSFTPCollectLimits: a run that left more files or bytes than allowed is refused
// with ETOOLARGE, and KeepRemote keeps the cluster copy.
func TestSFTPCollectLimits(t *testing.T) {
	c := testCluster(t)
	cfg, local, _ := c.sftpConfig(t)
	cfg.KeepRemote = true
	ex := newExecutor(t, cfg)
	ctx := context.Background()
	job := runJob(t, local, "limits-"+randHex(t), `for i in 1 2 3 4 5; do head -c 1000 /dev/zero > f$i; done`, nil)
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitEnded(t, ex, h); st.State != wes.JobSucceeded {
		t.Fatalf("status %+v", st)
	}
	for name, edit := range map[string]func(c *Config){
		"files": func(c *Config) { c.CollectMaxFiles = 3 },
		"bytes": func(c *Config) { c.CollectMaxBytes = 2500 },
	} {
		lc := cfg
		edit(&lc)
		err := newExecutor(t, lc).Collect(ctx, h)
		if msg := wes.ErrorMessage(err); !wes.IsCode(err, wes.ETOOLARGE) || !strings.Contains(msg, name) || strings.Contains(msg, "/") {
			t.Errorf("over the %s limit: Collect = %v; want %s naming the limit, without paths", name, err, wes.ETOOLARGE)
		}
	}
	if err := ex.Cleanup(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := ex.Collect(ctx, h); err != nil {
		t.Errorf("Collect after Cleanup with KeepRemote = %v", err)
	}
}

// TestSFTPRefusesLinksInWorkDir: Submit copies only regular files and directories.
func TestSFTPRefusesLinksInWorkDir(t *testing.T) {
	c := testCluster(t)
	cfg, local, _ := c.sftpConfig(t)
	ex := newExecutor(t, cfg)
	for name, plant := range map[string]func(dir string) error{
		"symlink": func(dir string) error { return os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")) },
		"fifo":    func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600) },
	} {
		job := runJob(t, local, "links-"+randHex(t), "exit 0", map[string]string{"ok.txt": "x"})
		if err := plant(job.WorkDir); err != nil {
			t.Fatal(err)
		}
		_, err := ex.Submit(context.Background(), job)
		if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), "link or special file") ||
			strings.Contains(wes.ErrorMessage(err), local) {
			t.Errorf("%s in the work dir: Submit = %v; want %s without the local path", name, err, wes.EINVALID)
		}
	}
}

// TestSFTPUnreachable: Collect and Cleanup of a cluster that does not answer are
// EUNAVAILABLE, so the runner retries them.
func TestSFTPUnreachable(t *testing.T) {
	c := testCluster(t)
	cfg, local, _ := c.sftpConfig(t)
	cfg.SSH.Addr = "127.0.0.1:1"
	ex := newExecutor(t, cfg)
	job := runJob(t, local, "unreach", "exit 0", nil)
	_, ws, err := ex.mapJob(job, "")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := encodeHandle(handleData{JobID: "1", Name: "unreach", Workspace: ws})
	if err := ex.Collect(context.Background(), h); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Collect = %v; want %s", err, wes.EUNAVAILABLE)
	}
	if err := ex.Cleanup(context.Background(), h); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Cleanup = %v; want %s", err, wes.EUNAVAILABLE)
	}
	if _, err := ex.Submit(context.Background(), job); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Submit = %v; want %s", err, wes.EUNAVAILABLE)
	}
}

// collecting is the executor as the runner drives it: once a job has ended, its files
// are collected before anyone looks at them (Finalize does this before reading outputs).
type collecting struct{ ex *Executor }

func (c collecting) Name() string { return c.ex.Name() }
func (c collecting) Submit(ctx context.Context, job *wes.Job) (wes.Handle, error) {
	return c.ex.Submit(ctx, job)
}
func (c collecting) Cancel(ctx context.Context, h wes.Handle) error { return c.ex.Cancel(ctx, h) }

func (c collecting) Status(ctx context.Context, h wes.Handle) (wes.JobStatus, error) {
	st, err := c.ex.Status(ctx, h)
	if err == nil && st.State.Ended() && st.State != wes.JobLost {
		err = c.ex.Collect(ctx, h)
	}
	return st, err
}

func (c collecting) StatusBatch(ctx context.Context, hs []wes.Handle) ([]wes.JobStatus, error) {
	sts, err := c.ex.StatusBatch(ctx, hs)
	for i := range sts {
		if err == nil && sts[i].State.Ended() && sts[i].State != wes.JobLost {
			err = c.ex.Collect(ctx, hs[i])
		}
	}
	return sts, err
}

// TestConformanceSFTP runs the conformance suite with the sftp workspace: the work dir
// is staged to the cluster and collected back when the job has ended.
func TestConformanceSFTP(t *testing.T) {
	c := testCluster(t)
	cfg, local, _ := c.sftpConfig(t)
	newEx := func(t *testing.T) wes.Executor { return collecting{newExecutor(t, cfg)} }
	executortest.Run(t, newEx(t), executortest.Options{
		NewJob: func(t *testing.T, id, script string) *wes.Job {
			return runJob(t, local, id, script, nil)
		},
		Fresh:         newEx,
		Timeout:       60 * time.Second,
		StagedWorkDir: true,
	})
}

// TestHostileArgvOverSFTP: words that would run commands if a shell read them stay
// literal through the mapping and the copy, including a mapped path that carries them.
func TestHostileArgvOverSFTP(t *testing.T) {
	c := testCluster(t)
	cfg, local, remoteBase := c.sftpConfig(t)
	cfg.AllowedPartitions = []string{"debug"}
	ex := newExecutor(t, cfg)
	id := "hostile-sftp-" + randHex(t)
	job := runJob(t, local, id, "", nil)
	evilPath := job.WorkDir + "/a b;$(touch pwned)'`touch pwned`"
	job.Argv = append(append([]string{"printf", "%s\\0"}, hostile...), evilPath)
	job.Params = map[string]string{"partition": "debug"}
	h, err := ex.Submit(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitEnded(t, ex, h); st.State != wes.JobSucceeded {
		t.Fatalf("status %+v", st)
	}
	if err := ex.Collect(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	remoteWork := filepath.Join(remoteBase, c.user, "runs", id, "work")
	want := strings.Join(append(hostile, remoteWork+"/a b;$(touch pwned)'`touch pwned`"), "\x00") + "\x00"
	if got := readFile(t, job.Stdout); got != want {
		t.Errorf("the job printed %q, want %q", got, want)
	}
	assertNoPwned(t, job.WorkDir)
	assertNoPwned(t, remoteWork)
	// A partition outside the allow-list never reaches sbatch.
	bad := runJob(t, local, "hostile-part-"+randHex(t), "exit 0", nil)
	bad.Params = map[string]string{"partition": "debug;touch pwned"}
	if _, err := ex.Submit(context.Background(), bad); !wes.IsCode(err, wes.EINVALID) {
		t.Errorf("Submit with a hostile partition = %v; want %s", err, wes.EINVALID)
	}
}
