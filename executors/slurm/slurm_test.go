package slurm

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/spe4hd/enclave/executors/executortest"
	"github.com/spe4hd/enclave/pkg/wes"
)

// cluster is the real single-node SLURM and loopback sshd that scripts/test-services.sh
// starts (scripts/slurm.sh).
type cluster struct {
	addr, user, key, knownHosts, workRoot string
	user2, key2                           string // a second login with its own key
}

func testCluster(t *testing.T) cluster {
	t.Helper()
	c := cluster{
		addr:       os.Getenv("ENCLAVE_TEST_SLURM_SSH_ADDR"),
		user:       os.Getenv("ENCLAVE_TEST_SLURM_SSH_USER"),
		key:        os.Getenv("ENCLAVE_TEST_SLURM_SSH_KEY"),
		knownHosts: os.Getenv("ENCLAVE_TEST_SLURM_SSH_KNOWN_HOSTS"),
		workRoot:   os.Getenv("ENCLAVE_TEST_SLURM_WORKDIR"),
		user2:      os.Getenv("ENCLAVE_TEST_SLURM_SSH_USER2"),
		key2:       os.Getenv("ENCLAVE_TEST_SLURM_SSH_KEY2"),
	}
	if c.addr == "" || c.user == "" || c.key == "" || c.knownHosts == "" || c.workRoot == "" {
		const why = "no SLURM cluster: run under scripts/test-services.sh (needs scripts/slurm.sh install)"
		if os.Getenv("CI") == "true" {
			t.Fatal(why + "; CI needs it")
		}
		t.Skip("SKIP: " + why)
	}
	return c
}

func (c cluster) config() Config {
	return Config{
		Mode:     ModeSSH,
		SSH:      SSHConfig{Addr: c.addr, User: c.user, KeyFile: c.key, KnownHostsFile: c.knownHosts, KeepAlive: time.Second},
		WorkRoot: c.workRoot,
	}
}

func newExecutor(t *testing.T, cfg Config) *Executor {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// workDir makes a work dir the job's user (the SSH test user) can write.
func (c cluster) workDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(c.workRoot, "job-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (c cluster) newJob(t *testing.T, id, script string) *wes.Job {
	dir := c.workDir(t)
	return &wes.Job{
		ID: id, Argv: []string{"sh", "-c", script}, WorkDir: dir,
		Stdout: filepath.Join(dir, "stdout.txt"), Stderr: filepath.Join(dir, "stderr.txt"),
	}
}

func TestConformanceOverSSH(t *testing.T) {
	c := testCluster(t)
	ex := newExecutor(t, c.config())
	executortest.Run(t, ex, executortest.Options{
		NewJob:  c.newJob,
		Fresh:   func(t *testing.T) wes.Executor { return newExecutor(t, c.config()) },
		Timeout: 60 * time.Second,
	})
}

// TestHostileArgvOverSSH sends words that would run commands if any shell along the way
// (the login shell on the SSH side, the batch script) read them unquoted.
func TestHostileArgvOverSSH(t *testing.T) {
	c := testCluster(t)
	ex := newExecutor(t, c.config())
	job := c.newJob(t, "hostile-"+randHex(t), "")
	job.Argv = append([]string{"printf", "%s\\0"}, hostile...)
	job.Env = map[string]string{"EVIL": "$(touch pwned)`touch pwned`';touch pwned'"}
	ctx := context.Background()
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	st := waitEnded(t, ex, h)
	if st.State != wes.JobSucceeded {
		b, _ := os.ReadFile(job.Stderr)
		t.Fatalf("status %+v, stderr %q", st, b)
	}
	b, err := os.ReadFile(job.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(hostile, "\x00") + "\x00"; string(b) != want {
		t.Errorf("the job printed %q, want %q", b, want)
	}
	assertNoPwned(t, job.WorkDir)
	if _, err := os.Stat(filepath.Join(os.Getenv("HOME"), "pwned")); err == nil {
		t.Error("a file pwned appeared in HOME")
	}
}

func waitEnded(t *testing.T, ex wes.Executor, h wes.Handle) wes.JobStatus {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := ex.Status(context.Background(), h)
		if err == nil && st.State.Ended() {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not ended after 60s: %+v, %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWrongHostKeyRefused: a login node whose host key is not the one in known_hosts is
// never talked to.
func TestWrongHostKeyRefused(t *testing.T) {
	c := testCluster(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(c.addr, ":")
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := "[" + host + "]:" + port + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + "\n"
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := c.config()
	cfg.SSH.KnownHostsFile = kh
	ex := newExecutor(t, cfg)
	_, err = ex.Submit(context.Background(), c.newJob(t, "wrong-host-key", "exit 0"))
	if !wes.IsCode(err, wes.EUNAVAILABLE) || !strings.Contains(err.Error(), "key mismatch") {
		t.Fatalf("Submit with a wrong host key = %v, want %s naming a key mismatch", err, wes.EUNAVAILABLE)
	}
	// An empty known_hosts file (the host unknown) is refused too.
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ex = newExecutor(t, cfg)
	if _, err := ex.Submit(context.Background(), c.newJob(t, "unknown-host", "exit 0")); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Fatalf("Submit to an unknown host = %v, want %s", err, wes.EUNAVAILABLE)
	}
}

// TestReconnect: a broken shared connection is re-dialled by the next call.
func TestReconnect(t *testing.T) {
	c := testCluster(t)
	ex := newExecutor(t, c.config())
	job := c.newJob(t, "reconnect-"+randHex(t), "exit 0")
	h, err := ex.Submit(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	r := ex.run.(*sshRunner)
	r.mu.Lock()
	_ = r.conn.Close() // as if the network dropped it
	r.mu.Unlock()
	if st := waitEnded(t, ex, h); st.State != wes.JobSucceeded {
		t.Fatalf("status after reconnect = %+v", st)
	}
}

// TestUnreachable: a login node that does not answer is EUNAVAILABLE.
func TestUnreachable(t *testing.T) {
	c := testCluster(t)
	cfg := c.config()
	cfg.SSH.Addr = "127.0.0.1:1"
	ex := newExecutor(t, cfg)
	h, _ := encodeHandle(handleData{JobID: "1", Name: "x"})
	if _, err := ex.Status(context.Background(), h); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Fatalf("Status = %v, want %s", err, wes.EUNAVAILABLE)
	}
}

func randHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestCompletionLog: once SLURM forgets a job (MinJobAge), its status comes from the job
// completion log, the same as before; an id neither knows is lost.
func TestCompletionLog(t *testing.T) {
	c := testCluster(t)
	ex := newExecutor(t, c.config())
	ctx := context.Background()
	var hs []wes.Handle
	var want []wes.JobStatus
	for _, script := range []string{"exit 0", "exit 4"} {
		h, err := ex.Submit(ctx, c.newJob(t, "log-"+randHex(t), script))
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		want = append(want, waitEnded(t, ex, h))
	}
	ds := []handleData{}
	for _, h := range hs {
		d, err := decodeHandle(h)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	// Job ids are never reused within this test run: one far above the current ones,
	// and a real id under another name, are both unknown.
	ds = append(ds, handleData{JobID: "999999999", Name: "never-submitted"}, handleData{JobID: ds[0].JobID, Name: "other-name"})
	got := make([]wes.JobStatus, len(ds))
	if err := ex.statusFromLog(ctx, ex.run, ds, []int{0, 1, 2, 3}, got); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i].State != want[i].State || exitCode(got[i]) != exitCode(want[i]) || !got[i].EndTime.Equal(want[i].EndTime) {
			t.Errorf("job %d: from the log %+v, from scontrol %+v", i, got[i], want[i])
		}
	}
	for _, i := range []int{2, 3} {
		if got[i].State != wes.JobLost {
			t.Errorf("unknown job %d: %+v, want lost", i, got[i])
		}
	}
	lost, _ := encodeHandle(ds[2])
	if st, err := ex.Status(ctx, lost); err != nil || st.State != wes.JobLost {
		t.Errorf("Status of an unknown id = %+v, %v; want lost", st, err)
	}
	if err := ex.Cancel(ctx, lost); err != nil {
		t.Errorf("Cancel of a lost job = %v, want nil", err)
	}
	// Submit finds a job by name in the log too.
	id, ok, err := ex.lookup(ctx, ex.run, ds[1].Name)
	if err != nil || !ok || id != ds[1].JobID {
		t.Errorf("lookup(%s) = %s, %v, %v; want %s", ds[1].Name, id, ok, err, ds[1].JobID)
	}
}

func exitCode(st wes.JobStatus) string {
	if st.ExitCode == nil {
		return "none"
	}
	return strconv.Itoa(*st.ExitCode)
}

// TestConformanceLocal runs the suite with the SLURM commands of this machine (a worker
// on a login node), as the test's own user.
func TestConformanceLocal(t *testing.T) {
	c := testCluster(t)
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Skip("SKIP: no sbatch on this machine's PATH")
	}
	// sacct -c run by root (this test) resets the completion log to 0644 (jobcomp/filetxt
	// opens and chmods it even to read), which locks the SSH test user's sacct -c out.
	if log := os.Getenv("ENCLAVE_TEST_SLURM_JOBCOMP_LOG"); log != "" && os.Geteuid() == 0 {
		t.Cleanup(func() { _ = os.Chmod(log, 0o666) })
	}
	cfg := Config{Mode: ModeLocal, WorkRoot: c.workRoot}
	executortest.Run(t, newExecutor(t, cfg), executortest.Options{
		NewJob:        c.newJob,
		Fresh:         func(t *testing.T) wes.Executor { return newExecutor(t, cfg) },
		Timeout:       60 * time.Second,
		HostProcesses: true,
	})
}

// TestManyConcurrentCalls: more concurrent calls than sshd's MaxSessions (10) share the
// one connection without errors.
func TestManyConcurrentCalls(t *testing.T) {
	c := testCluster(t)
	ex := newExecutor(t, c.config())
	h, err := ex.Submit(context.Background(), c.newJob(t, "many-"+randHex(t), "exit 0"))
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, ex, h)
	errs := make([]error, 25)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = ex.Status(context.Background(), h) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
}
