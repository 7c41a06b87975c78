package executortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

type suite struct {
	ex   wes.Executor
	opts Options
}

// poll is how often the suite re-checks a condition.
const poll = 20 * time.Millisecond

func (s *suite) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// newJob builds a job with a unique id for p.
func (s *suite) newJob(t *testing.T, prefix string, p Program) *wes.Job {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := prefix + "-" + hex.EncodeToString(b)
	if s.opts.NewProgramJob != nil {
		return s.opts.NewProgramJob(t, id, p)
	}
	return s.opts.NewJob(t, id, p.Script())
}

// submit submits job and makes sure it does not outlive the test.
func (s *suite) submit(t *testing.T, job *wes.Job) wes.Handle {
	t.Helper()
	h, err := s.ex.Submit(s.ctx(t), job)
	if err != nil {
		t.Fatalf("Submit(%s): %v", job.ID, err)
	}
	if h.Executor != s.ex.Name() {
		t.Errorf("handle executor = %q, want %q", h.Executor, s.ex.Name())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
		defer cancel()
		if st, err := s.ex.Status(ctx, h); err == nil && !st.State.Ended() {
			_ = s.ex.Cancel(ctx, h)
		}
	})
	return h
}

// waitFor polls ex.Status(h) until ok holds, or fails the test with the last status.
func (s *suite) waitFor(t *testing.T, ex wes.Executor, h wes.Handle, what string, ok func(wes.JobStatus) bool) wes.JobStatus {
	t.Helper()
	var last wes.JobStatus
	var lastErr error
	deadline := time.Now().Add(s.opts.Timeout)
	for time.Now().Before(deadline) {
		last, lastErr = ex.Status(context.Background(), h)
		if lastErr == nil && ok(last) {
			return last
		}
		time.Sleep(poll)
	}
	t.Fatalf("job not %s after %s: last status %+v, error %v", what, s.opts.Timeout, last, lastErr)
	return last
}

func (s *suite) waitEnded(t *testing.T, ex wes.Executor, h wes.Handle) wes.JobStatus {
	t.Helper()
	return s.waitFor(t, ex, h, "ended", func(st wes.JobStatus) bool { return st.State.Ended() })
}

func (s *suite) waitRunning(t *testing.T, ex wes.Executor, h wes.Handle) wes.JobStatus {
	t.Helper()
	st := s.waitFor(t, ex, h, "running", func(st wes.JobStatus) bool {
		return st.State == wes.JobRunning || st.State.Ended()
	})
	if st.State != wes.JobRunning {
		t.Fatalf("job ended while it should run: %+v", st)
	}
	return st
}

// eventually polls cond until it holds or the timeout passes.
func (s *suite) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(s.opts.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", s.opts.Timeout, what)
		}
		time.Sleep(poll)
	}
}

// readPID waits until path holds a pid.
func (s *suite) readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	s.eventually(t, "a pid in "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	return pid
}

// processGone reports whether pid has ended. A zombie has ended: it only waits to be
// reaped, which init does late in some sandboxes.
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

// roundTrip passes h through JSON, as the run store does.
func roundTrip(t *testing.T, h wes.Handle) wes.Handle {
	t.Helper()
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var out wes.Handle
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func exitCode(st wes.JobStatus) string {
	if st.ExitCode == nil {
		return "none"
	}
	return strconv.Itoa(*st.ExitCode)
}
