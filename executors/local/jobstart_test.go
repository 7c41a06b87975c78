package local

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Both ways of starting a job give it its limits, and report its pid before it runs.
// The untraced way is what happens where ptrace is not allowed; its exec stage is this
// test binary acting as the shim (through MaybeShim in TestMain).
func TestStartJob(t *testing.T) {
	t.Setenv(ShimEnvVar, "1") // inherited by the exec stage only: MaybeShim already ran here
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		traced bool
		res    wes.Resources
		want   string
	}{
		{"traced with limits", true, wes.Resources{MemoryMB: 64, TimeLimit: 90 * time.Second, CPUs: 2}, "65536\n180\n"},
		{"traced without limits", true, wes.Resources{}, ulimits(t)},
		{"untraced with limits", false, wes.Resources{MemoryMB: 32, TimeLimit: 10 * time.Second}, "32768\n10\n"},
		{"untraced without limits", false, wes.Resources{}, ulimits(t)},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, work := t.TempDir(), t.TempDir()
			sp := spec{Shim: []string{exe}, Path: DefaultPath, Job: wes.Job{
				Argv: []string{"sh", "-c", "ulimit -v; ulimit -t; grep TracerPid /proc/self/status >&2"}, WorkDir: work, Resources: c.res}}
			if err := writeJSONAtomic(filepath.Join(dir, fileSpec), sp); err != nil {
				t.Fatal(err)
			}
			out, errf := openTestFile(t, work, "stdout"), openTestFile(t, work, "stderr")
			var startedPID int
			var state byte
			started := func(pid int) {
				startedPID = pid
				ps, _ := readProcStat(pid)
				state = ps.State
			}
			path, err := lookPath("sh", DefaultPath, work)
			if err != nil {
				t.Fatal(err)
			}
			start := startJob
			if !c.traced {
				start = func(dir string, sp spec, path string, stdout, stderr *os.File, started func(int)) (*exec.Cmd, error) {
					return startUntraced(dir, sp, path, stdout, stderr, rlimitsFor(sp.Job.Resources), started)
				}
			}
			cmd, err := start(dir, sp, path, out, errf, started)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("job: %v; stderr %s", err, readTestFile(t, errf.Name()))
			}
			if startedPID != cmd.Process.Pid {
				t.Errorf("started got pid %d, the job is %d", startedPID, cmd.Process.Pid)
			}
			if c.traced && state != 't' {
				t.Errorf("job state when started was called = %q, want 't' (stopped at its execve)", state)
			}
			if got := readTestFile(t, out.Name()); got != c.want {
				t.Errorf("limits seen by the job = %q, want %q", got, c.want)
			}
			if got := readTestFile(t, errf.Name()); !strings.Contains(got, "TracerPid:\t0") {
				t.Errorf("the job is still traced: %q", got)
			}
		})
	}
}

// ulimits is what `ulimit -v; ulimit -t` prints for a job without limits: this
// process's own, which it inherits.
func ulimits(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", "ulimit -v; ulimit -t").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func openTestFile(t *testing.T, dir, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
