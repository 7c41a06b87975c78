package executortest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// The variants of the cases for backends with Options.StagedWorkDir (see there).

func (s *suite) idempotentSubmitStaged(t *testing.T) {
	job := s.newJob(t, "idem", Program{AppendTo: "runs.txt"})
	hs := make([]wes.Handle, 2)
	errs := make([]error, 2)
	ctx := s.ctx(t)
	var wg sync.WaitGroup
	for i := range hs {
		j := *job
		wg.Go(func() { hs[i], errs[i] = s.ex.Submit(ctx, &j) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Submit %d: %v", i, err)
		}
	}
	t.Cleanup(func() { _ = s.ex.Cancel(context.Background(), hs[0]) })
	if !sameHandle(t, hs[0], hs[1]) {
		t.Errorf("two concurrent Submits of one id returned different handles:\n%s\n%s", hs[0].Data, hs[1].Data)
	}
	for _, h := range hs {
		if st := s.waitEnded(t, s.ex, h); st.State != wes.JobSucceeded {
			t.Fatalf("status = %+v, want succeeded", st)
		}
	}
	h3, err := s.ex.Submit(s.ctx(t), job)
	if err != nil {
		t.Fatalf("Submit after the job ended: %v", err)
	}
	if !sameHandle(t, h3, hs[0]) {
		t.Errorf("a Submit after the job ended returned another handle:\n%s\n%s", h3.Data, hs[0].Data)
	}
	if st, err := s.ex.Status(s.ctx(t), h3); err != nil || st.State != wes.JobSucceeded {
		t.Errorf("status from a re-Submit's handle = %+v, %v; want succeeded", st, err)
	}
	b, err := os.ReadFile(filepath.Join(job.WorkDir, "runs.txt"))
	if err != nil {
		t.Fatalf("the work dir did not come back from the job: %v", err)
	}
	if n := strings.Count(string(b), "ran\n"); n != 1 {
		t.Errorf("runs.txt says the job ran %d times, want 1", n)
	}
	s.checkJobCount(t, job.ID)
}

func (s *suite) takeOverStaged(t *testing.T) {
	// A running job: the fresh instance sees it and cancels it.
	h := roundTrip(t, s.submit(t, s.newJob(t, "takeover", Program{WaitFor: "never-created"})))
	s.waitRunning(t, s.ex, h)
	fresh := s.opts.Fresh(t)
	if st, err := fresh.Status(s.ctx(t), h); err != nil || st.State != wes.JobRunning {
		t.Fatalf("fresh instance: status = %+v, %v; want running", st, err)
	}
	if err := fresh.Cancel(s.ctx(t), h); err != nil {
		t.Fatalf("fresh instance: Cancel: %v", err)
	}
	if st := s.waitEnded(t, fresh, h); st.State != wes.JobCanceled {
		t.Fatalf("fresh instance: status after its Cancel = %+v, want canceled", st)
	}
	if st, err := s.ex.Status(s.ctx(t), h); err != nil || st.State != wes.JobCanceled {
		t.Errorf("first instance: status after the fresh one's Cancel = %+v, %v; want canceled", st, err)
	}

	// A job the first instance submitted and never polls: the fresh one sees it to its end.
	const text = "taken over"
	job := s.newJob(t, "takeover-done", Program{Stdout: text})
	h2 := roundTrip(t, s.submit(t, job))
	if st := s.waitEnded(t, fresh, h2); st.State != wes.JobSucceeded || exitCode(st) != "0" {
		t.Fatalf("fresh instance: final status = %+v, want succeeded exit 0", st)
	}
	if b, err := os.ReadFile(job.Stdout); err != nil || !strings.Contains(string(b), text) {
		t.Errorf("stdout after the fresh instance saw the end = %q, %v; want it to contain %q", b, err, text)
	}
	if err := fresh.Cancel(s.ctx(t), h2); err != nil {
		t.Errorf("fresh instance: Cancel of the ended job: %v", err)
	}
}

// checkJobCount requires one backend job for id, when the backend can count them.
func (s *suite) checkJobCount(t *testing.T, id string) {
	t.Helper()
	if s.opts.CountJobs == nil {
		return
	}
	if n := s.opts.CountJobs(t, id); n != 1 {
		t.Errorf("the backend holds %d jobs for one id submitted three times, want 1", n)
	}
}

// sameHandle reports whether a and b name the same job: equal executor, version and data
// (compared as JSON values, so field order does not matter).
func sameHandle(t *testing.T, a, b wes.Handle) bool {
	t.Helper()
	if a.Executor != b.Executor || a.Version != b.Version {
		return false
	}
	var da, db any
	if err := json.Unmarshal(a.Data, &da); err != nil {
		t.Fatalf("handle data is not JSON: %v", err)
	}
	if err := json.Unmarshal(b.Data, &db); err != nil {
		t.Fatalf("handle data is not JSON: %v", err)
	}
	return reflect.DeepEqual(da, db)
}
