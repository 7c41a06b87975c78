package executortest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

func (s *suite) success(t *testing.T) {
	const text = "hello from the job"
	job := s.newJob(t, "ok", Program{Stdout: text})
	h := s.submit(t, job)
	st := s.waitEnded(t, s.ex, h)
	if st.State != wes.JobSucceeded || exitCode(st) != "0" {
		t.Fatalf("status = %s exit %s (%q), want succeeded exit 0", st.State, exitCode(st), st.Message)
	}
	if st.StartTime.IsZero() || st.EndTime.IsZero() || st.EndTime.Before(st.StartTime) {
		t.Errorf("times: start %v end %v, want both set and end >= start", st.StartTime, st.EndTime)
	}
	b, err := os.ReadFile(job.Stdout)
	if err != nil {
		t.Fatalf("reading the job's stdout: %v", err)
	}
	if !strings.Contains(string(b), text) {
		t.Errorf("stdout = %q, want it to contain %q", b, text)
	}
}

func (s *suite) failure(t *testing.T) {
	h := s.submit(t, s.newJob(t, "fail", Program{Exit: 3}))
	st := s.waitEnded(t, s.ex, h)
	if st.State != wes.JobFailed || exitCode(st) != "3" {
		t.Fatalf("status = %s exit %s (%q), want failed exit 3", st.State, exitCode(st), st.Message)
	}
}

func (s *suite) cancelRunning(t *testing.T) {
	job := s.newJob(t, "cancel", Program{PIDFile: "job.pid", WaitFor: "never-created"})
	h := s.submit(t, job)
	s.waitRunning(t, s.ex, h)
	var pids []int
	if s.opts.HostProcesses {
		pids = []int{s.readPID(t, filepath.Join(job.WorkDir, "job.pid")),
			s.readPID(t, filepath.Join(job.WorkDir, "job.pid.child"))}
	}
	if err := s.ex.Cancel(s.ctx(t), h); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	st := s.waitEnded(t, s.ex, h)
	if st.State != wes.JobCanceled {
		t.Fatalf("status after Cancel = %s (%q), want canceled", st.State, st.Message)
	}
	for _, pid := range pids {
		s.eventually(t, "the job's processes to be gone", func() bool { return processGone(pid) })
	}
	if err := s.ex.Cancel(s.ctx(t), h); err != nil {
		t.Errorf("second Cancel: %v, want nil", err)
	}
	if st2, err := s.ex.Status(s.ctx(t), h); err != nil || st2.State != wes.JobCanceled {
		t.Errorf("status after second Cancel = %+v, %v; want canceled", st2, err)
	}
}

func (s *suite) cancelFinished(t *testing.T) {
	h := s.submit(t, s.newJob(t, "done", Program{}))
	before := s.waitEnded(t, s.ex, h)
	if err := s.ex.Cancel(s.ctx(t), h); err != nil {
		t.Fatalf("Cancel of an ended job: %v, want nil", err)
	}
	after, err := s.ex.Status(s.ctx(t), h)
	if err != nil {
		t.Fatal(err)
	}
	if after.State != before.State || exitCode(after) != exitCode(before) || !after.EndTime.Equal(before.EndTime) {
		t.Errorf("status changed by Cancel of an ended job: before %+v, after %+v", before, after)
	}
}

func (s *suite) idempotentSubmit(t *testing.T) {
	if s.opts.StagedWorkDir {
		s.idempotentSubmitStaged(t)
		return
	}
	job := s.newJob(t, "idem", Program{AppendTo: "runs.txt", WaitFor: "release"})
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
	s.waitRunning(t, s.ex, hs[0])
	if err := os.WriteFile(filepath.Join(job.WorkDir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
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
	if st, err := s.ex.Status(s.ctx(t), h3); err != nil || st.State != wes.JobSucceeded {
		t.Errorf("status from a re-Submit's handle = %+v, %v; want succeeded", st, err)
	}
	b, err := os.ReadFile(filepath.Join(job.WorkDir, "runs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "ran\n"); n != 1 {
		t.Errorf("the job ran %d times for three Submits of one id, want 1", n)
	}
	s.checkJobCount(t, job.ID)
}

func (s *suite) takeOver(t *testing.T) {
	if s.opts.StagedWorkDir {
		s.takeOverStaged(t)
		return
	}
	job := s.newJob(t, "takeover", Program{WaitFor: "release"})
	h := roundTrip(t, s.submit(t, job))
	s.waitRunning(t, s.ex, h)
	fresh := s.opts.Fresh(t)
	if st, err := fresh.Status(s.ctx(t), h); err != nil || st.State != wes.JobRunning {
		t.Fatalf("fresh instance: status = %+v, %v; want running", st, err)
	}
	if err := os.WriteFile(filepath.Join(job.WorkDir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if st := s.waitEnded(t, fresh, h); st.State != wes.JobSucceeded || exitCode(st) != "0" {
		t.Fatalf("fresh instance: final status = %+v, want succeeded exit 0", st)
	}
	if err := fresh.Cancel(s.ctx(t), h); err != nil {
		t.Errorf("fresh instance: Cancel of the ended job: %v", err)
	}
}

func (s *suite) statusBatch(t *testing.T) {
	b, ok := s.ex.(wes.StatusBatcher)
	if !ok {
		t.Skip("SKIP: the executor does not implement wes.StatusBatcher")
	}
	hs := []wes.Handle{
		s.submit(t, s.newJob(t, "batch-ok", Program{})),
		s.submit(t, s.newJob(t, "batch-fail", Program{Exit: 3})),
		s.submit(t, s.newJob(t, "batch-run", Program{WaitFor: "never-created"})),
	}
	s.waitEnded(t, s.ex, hs[0])
	s.waitEnded(t, s.ex, hs[1])
	s.waitRunning(t, s.ex, hs[2])
	got, err := b.StatusBatch(s.ctx(t), hs)
	if err != nil {
		t.Fatalf("StatusBatch: %v", err)
	}
	if len(got) != len(hs) {
		t.Fatalf("StatusBatch returned %d statuses for %d handles", len(got), len(hs))
	}
	for i, h := range hs {
		want, err := s.ex.Status(s.ctx(t), h)
		if err != nil {
			t.Fatal(err)
		}
		if got[i].State != want.State || exitCode(got[i]) != exitCode(want) {
			t.Errorf("StatusBatch[%d] = %s exit %s, Status = %s exit %s", i, got[i].State, exitCode(got[i]), want.State, exitCode(want))
		}
	}
	if empty, err := b.StatusBatch(s.ctx(t), nil); err != nil || len(empty) != 0 {
		t.Errorf("StatusBatch(nil) = %v, %v; want empty, nil", empty, err)
	}
}

func (s *suite) badJob(t *testing.T) {
	base := s.newJob(t, "bad", Program{})
	for _, c := range []struct {
		name string
		edit func(j *wes.Job)
	}{
		{"empty argv", func(j *wes.Job) { j.Argv = nil }},
		{"empty id", func(j *wes.Job) { j.ID = "" }},
		{"no work dir", func(j *wes.Job) { j.WorkDir = "" }},
		{"missing work dir", func(j *wes.Job) { j.WorkDir = filepath.Join(base.WorkDir, "does-not-exist") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := *base
			c.edit(&j)
			_, err := s.ex.Submit(s.ctx(t), &j)
			if !wes.IsCode(err, wes.EINVALID) {
				t.Fatalf("Submit = %v, want %s", err, wes.EINVALID)
			}
			if msg := wes.ErrorMessage(err); msg == "" || (base.WorkDir != "" && strings.Contains(msg, base.WorkDir)) {
				t.Errorf("message %q: want a non-empty message without paths", msg)
			}
		})
	}
	t.Run("nil job", func(t *testing.T) {
		if _, err := s.ex.Submit(s.ctx(t), nil); !wes.IsCode(err, wes.EINVALID) {
			t.Fatalf("Submit(nil) = %v, want %s", err, wes.EINVALID)
		}
	})
}

func (s *suite) badHandle(t *testing.T) {
	good := s.submit(t, s.newJob(t, "handle", Program{}))
	s.waitEnded(t, s.ex, good)
	for _, c := range []struct {
		name string
		h    wes.Handle
	}{
		{"other executor", wes.Handle{Executor: "no-such-executor", Version: good.Version, Data: good.Data}},
		{"unknown version", wes.Handle{Executor: good.Executor, Version: 9999, Data: good.Data}},
		{"garbage data", wes.Handle{Executor: good.Executor, Version: good.Version, Data: []byte(`"not an object"`)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.ex.Status(s.ctx(t), c.h); !wes.IsCode(err, wes.EINVALID) {
				t.Errorf("Status = %v, want %s", err, wes.EINVALID)
			}
			if err := s.ex.Cancel(s.ctx(t), c.h); !wes.IsCode(err, wes.EINVALID) {
				t.Errorf("Cancel = %v, want %s", err, wes.EINVALID)
			}
		})
	}
}
