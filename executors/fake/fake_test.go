package fake_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/executortest"
	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/pkg/wes"
)

func newExecutor(t *testing.T, dir string, now func() time.Time) *fake.Executor {
	t.Helper()
	ex, err := fake.New(fake.Config{Dir: dir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func newJob(t *testing.T, id string, argv ...string) *wes.Job {
	t.Helper()
	root := t.TempDir()
	work := filepath.Join(root, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	return &wes.Job{ID: id, Argv: append([]string{"fake"}, argv...), WorkDir: work,
		Stdout: filepath.Join(root, "logs", "stdout.log"), Stderr: filepath.Join(root, "logs", "stderr.log")}
}

// programArgv translates a conformance case into fake directives; the fake runs no
// processes, so PIDFile has no counterpart.
func programArgv(p executortest.Program) []string {
	var argv []string
	if p.AppendTo != "" {
		argv = append(argv, "append="+p.AppendTo)
	}
	if p.Stdout != "" {
		argv = append(argv, "stdout="+p.Stdout)
	}
	if p.WaitFor != "" {
		argv = append(argv, "wait-for="+p.WaitFor)
	}
	return append(argv, fmt.Sprintf("exit=%d", p.Exit))
}

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	executortest.Run(t, newExecutor(t, dir, nil), executortest.Options{
		NewProgramJob: func(t *testing.T, id string, p executortest.Program) *wes.Job {
			return newJob(t, id, programArgv(p)...)
		},
		Fresh: func(t *testing.T) wes.Executor { return newExecutor(t, dir, nil) },
	})
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestScriptedTimeline(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	ex := newExecutor(t, t.TempDir(), clk.Now)
	ctx := context.Background()
	h, err := ex.Submit(ctx, newJob(t, "timeline", "queued=1s", "sleep=2s", "exit=3"))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		advance time.Duration
		want    wes.JobState
	}{
		{0, wes.JobQueued},
		{time.Second, wes.JobRunning},
		{1999 * time.Millisecond, wes.JobRunning},
		{time.Millisecond, wes.JobFailed},
		{time.Hour, wes.JobFailed},
	} {
		clk.Add(step.advance)
		st, err := ex.Status(ctx, h)
		if err != nil || st.State != step.want {
			t.Fatalf("after +%s: status = %+v, %v; want %s", step.advance, st, err, step.want)
		}
	}
	st, _ := ex.Status(ctx, h)
	if st.ExitCode == nil || *st.ExitCode != 3 || st.EndTime.Sub(st.StartTime) != 2*time.Second {
		t.Errorf("final status = %+v, want exit 3 after 2s of running", st)
	}
}

func TestScriptedErrors(t *testing.T) {
	ex := newExecutor(t, t.TempDir(), nil)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		argv []string
		want string
	}{
		{"submit unavailable", []string{"submit-error=unavailable"}, wes.EUNAVAILABLE},
		{"unknown directive", []string{"explode=yes"}, wes.EINVALID},
		{"bad duration", []string{"sleep=soon"}, wes.EINVALID},
		{"bad error code", []string{"submit-error=boom"}, wes.EINVALID},
		{"escaping file", []string{"append=../x"}, wes.EINVALID},
		{"not fake", nil, wes.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			job := newJob(t, "err", c.argv...)
			if c.argv == nil {
				job.Argv = []string{"sh", "-c", "true"}
			}
			if _, err := ex.Submit(ctx, job); !wes.IsCode(err, c.want) {
				t.Fatalf("Submit = %v, want %s", err, c.want)
			}
		})
	}
	h, err := ex.Submit(ctx, newJob(t, "flaky", "status-error=unavailable", "cancel-error=internal"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Status(ctx, h); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Status = %v, want %s", err, wes.EUNAVAILABLE)
	}
	if err := ex.Cancel(ctx, h); !wes.IsCode(err, wes.EINTERNAL) {
		t.Errorf("Cancel = %v, want %s", err, wes.EINTERNAL)
	}
}

func TestLostAndCleanup(t *testing.T) {
	ex := newExecutor(t, t.TempDir(), nil)
	ctx := context.Background()
	h, err := ex.Submit(ctx, newJob(t, "lost", "lost"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := ex.Status(ctx, h); err != nil || st.State != wes.JobLost || st.ExitCode != nil {
		t.Fatalf("status = %+v, %v; want lost without exit code", st, err)
	}
	if err := ex.Cleanup(ctx, h); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if st, err := ex.Status(ctx, h); err != nil || st.State != wes.JobLost {
		t.Errorf("status after Cleanup = %+v, %v; want lost", st, err)
	}
	running, err := ex.Submit(ctx, newJob(t, "running", "wait-for=never"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Cleanup(ctx, running); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("Cleanup of a running job = %v, want %s", err, wes.ECONFLICT)
	}
}
