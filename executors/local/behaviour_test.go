package local_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/wes"
)

// The job sees a clean environment: nothing of the worker's (secrets included) nor of
// the shim's, only PATH, HOME, LANG and job.Env; it runs in its work dir.
func TestJobEnvironment(t *testing.T) {
	t.Setenv("ENCLAVE_TEST_SECRET", "s3cr3t")
	ex := newExecutor(t, t.TempDir(), time.Second)
	job := newJob(t, "env", "env > env.txt; pwd > pwd.txt")
	job.Env = map[string]string{"FOO": "bar baz"}
	if st := run(t, ex, job); st.State != wes.JobSucceeded {
		t.Fatalf("status = %+v", st)
	}
	env := readFile(t, filepath.Join(job.WorkDir, "env.txt"))
	for _, want := range []string{"FOO=bar baz\n", "HOME=" + job.WorkDir + "\n", "LANG=C.UTF-8\n", "PATH=" + local.DefaultPath + "\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("job env lacks %q:\n%s", want, env)
		}
	}
	for _, bad := range []string{"ENCLAVE_TEST_SECRET", shimEnv} {
		if strings.Contains(env, bad) {
			t.Errorf("job env leaks %s:\n%s", bad, env)
		}
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(job.WorkDir, "pwd.txt"))); got != job.WorkDir {
		t.Errorf("job cwd = %q, want %q", got, job.WorkDir)
	}
}

func TestResourceLimitsApplied(t *testing.T) {
	ex := newExecutor(t, t.TempDir(), time.Second)
	job := newJob(t, "limits", "ulimit -v; ulimit -t")
	job.Resources = wes.Resources{MemoryMB: 64, TimeLimit: 90 * time.Second, CPUs: 2}
	if st := run(t, ex, job); st.State != wes.JobSucceeded {
		t.Fatalf("status = %+v; stderr: %s", st, readFile(t, job.Stderr))
	}
	// ulimit -v is in KiB; the CPU backstop is TimeLimit × CPUs seconds.
	if got, want := readFile(t, job.Stdout), "65536\n180\n"; got != want {
		t.Errorf("limits seen by the job = %q, want %q", got, want)
	}
}

func TestMemoryLimitStopsJob(t *testing.T) {
	ex := newExecutor(t, t.TempDir(), time.Second)
	// 64 MiB of address space cannot hold a 200 MB string.
	job := newJob(t, "oom", `x=$(head -c 200000000 /dev/zero | tr '\0' a); echo "${#x}"`)
	job.Resources.MemoryMB = 64
	st := run(t, ex, job)
	if st.State != wes.JobFailed {
		t.Fatalf("status = %+v, want failed", st)
	}
	// The shell fails, not the exec stage that set the limit before becoming the shell.
	if stderr := readFile(t, job.Stderr); strings.Contains(stderr, "enclave:") || strings.Contains(stderr, "runtime") {
		t.Errorf("the exec stage failed: %s", stderr)
	}
}

func TestTimeLimit(t *testing.T) {
	ex := newExecutor(t, t.TempDir(), time.Second)
	job := newJob(t, "slow", "while :; do sleep 0.05; done")
	job.Resources.TimeLimit = 300 * time.Millisecond
	st := run(t, ex, job)
	if st.State != wes.JobFailed || !strings.Contains(st.Message, "time limit") {
		t.Fatalf("status = %+v, want failed with a time-limit message", st)
	}
}

// A job that ignores SIGTERM is killed after the grace period.
func TestCancelEscalatesToSIGKILL(t *testing.T) {
	grace := 500 * time.Millisecond
	ex := newExecutor(t, t.TempDir(), grace)
	job := newJob(t, "stubborn", "trap '' TERM; echo $$ > job.pid; while :; do sleep 0.05; done")
	h, err := ex.Submit(ctx(t), job)
	if err != nil {
		t.Fatal(err)
	}
	pid := readPID(t, filepath.Join(job.WorkDir, "job.pid"))
	start := time.Now()
	if err := ex.Cancel(ctx(t), h); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if took := time.Since(start); took < grace {
		t.Errorf("Cancel returned after %s, before the %s grace period", took, grace)
	}
	st := waitEnded(t, ex, h)
	if st.State != wes.JobCanceled || st.ExitCode == nil || *st.ExitCode != 128+int(syscall.SIGKILL) {
		t.Fatalf("status = %+v, want canceled by SIGKILL", st)
	}
	eventually(t, "the job's shell to be gone", func() bool { return processGone(pid) })
}

func TestCommandNotFound(t *testing.T) {
	ex := newExecutor(t, t.TempDir(), time.Second)
	job := newJob(t, "nocmd", "")
	job.Argv = []string{"no-such-command-for-enclave"}
	st := run(t, ex, job)
	if st.State != wes.JobFailed || st.ExitCode == nil || *st.ExitCode != 127 || !strings.Contains(st.Message, "no-such-command-for-enclave") {
		t.Fatalf("status = %+v, want failed, exit 127, naming the command", st)
	}
}

// A shim that dies without an exit record makes the job lost; Cancel then kills the
// orphaned job.
func TestShimKilledMeansLost(t *testing.T) {
	ex := newExecutor(t, t.TempDir(), time.Second)
	job := newJob(t, "orphan", "echo $$ > job.pid; while :; do sleep 0.05; done")
	h, err := ex.Submit(ctx(t), job)
	if err != nil {
		t.Fatal(err)
	}
	pid := readPID(t, filepath.Join(job.WorkDir, "job.pid"))
	if err := syscall.Kill(handleField(t, h, "shim_pid"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := waitEnded(t, ex, h)
	if st.State != wes.JobLost || !strings.Contains(st.Message, "supervisor process ended without recording an exit status") {
		t.Fatalf("status = %+v, want lost", st)
	}
	if err := ex.Cancel(ctx(t), h); err != nil {
		t.Fatalf("Cancel of a lost job: %v", err)
	}
	eventually(t, "the orphaned job to be killed", func() bool { return processGone(pid) })
	verifyNoLeaks(t) // the goroutine that waited for the killed shim has ended
}

func TestCleanup(t *testing.T) {
	state := t.TempDir()
	ex := newExecutor(t, state, time.Second)
	job := newJob(t, "clean", "while [ ! -e release ]; do sleep 0.05; done")
	h, err := ex.Submit(ctx(t), job)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Cleanup(ctx(t), h); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("Cleanup of a running job = %v, want %s", err, wes.ECONFLICT)
	}
	if err := ex.Cancel(ctx(t), h); err != nil {
		t.Fatal(err)
	}
	if err := ex.Cleanup(ctx(t), h); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(state, job.ID)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state dir after Cleanup: %v, want it gone", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*local.Config)
		want string
	}{
		{"no state dir", func(c *local.Config) { c.StateDir = "" }, "StateDir is required"},
		{"relative state dir", func(c *local.Config) { c.StateDir = "state" }, "must be an absolute path"},
		{"negative grace", func(c *local.Config) { c.Grace = -time.Second }, "Grace"},
		{"empty shim command", func(c *local.Config) { c.ShimCommand = []string{""} }, "ShimCommand[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config(t.TempDir(), time.Second)
			c.edit(&cfg)
			_, err := local.New(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

// A shim that fails, or exits without starting the job, makes Submit fail at once
// (not after the start timeout), without paths in the message.
func TestBrokenShim(t *testing.T) {
	for _, shim := range [][]string{{"/bin/false"}, {"/bin/true"}} {
		t.Run(shim[0], func(t *testing.T) {
			cfg := config(t.TempDir(), time.Second)
			cfg.ShimCommand = shim
			ex, err := local.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = ex.Submit(ctx(t), newJob(t, "broken", "true"))
			if !wes.IsCode(err, wes.EINTERNAL) {
				t.Fatalf("Submit = %v, want %s", err, wes.EINTERNAL)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("Submit took %s to notice", took)
			}
			if msg := wes.ErrorMessage(err); strings.Contains(msg, "/") {
				t.Errorf("client message %q carries a path", msg)
			}
		})
	}
}
