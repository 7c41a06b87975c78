package queue

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/spe4hd/enclave/pkg/wes"
)

func TestStepsReachTheirHandlers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		rec := &recorder{}
		startWorker(t, opt, testConfig(t, queue), rec)
		c := newClient(t, opt, queue)
		ins := inspector(t, opt)
		ctx := t.Context()
		steps := []struct {
			typ     string
			enqueue func(context.Context, string) error
		}{{TypeStart, c.Start}, {TypeCancel, c.Cancel}, {TypeFinalize, c.Finalize}}
		for _, s := range steps {
			if err := s.enqueue(ctx, "run-1"); err != nil {
				t.Fatalf("enqueue %s: %v", s.typ, err)
			}
		}
		for _, s := range steps {
			eventually(t, 10*time.Second, s.typ+" acknowledged", taskGone(t, ins, queue, TaskID(s.typ, "run-1")))
			if n := rec.count(s.typ, "run-1"); n != 1 {
				t.Errorf("%s handler called %d times, want once", s.typ, n)
			}
		}
		if len(rec.all()) != 3 {
			t.Errorf("calls %v, want one per step", rec.all())
		}
	})
}

func TestDuplicateEnqueueIsNoop(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		c := newClient(t, opt, queue)
		ins := inspector(t, opt)
		for i := range 3 {
			if err := c.Start(t.Context(), "run-1"); err != nil {
				t.Fatalf("enqueue %d: %v", i, err)
			}
		}
		pending, err := ins.ListPendingTasks(queue)
		if err != nil || len(pending) != 1 || pending[0].ID != "run:start:run-1" {
			t.Fatalf("pending tasks %v, %v; want one run:start:run-1", pending, err)
		}
		if string(pending[0].Payload) != `{"run_id":"run-1"}` {
			t.Errorf("payload %s, want {\"run_id\":\"run-1\"}", pending[0].Payload)
		}
		rec := &recorder{}
		startWorker(t, opt, testConfig(t, queue), rec)
		eventually(t, 10*time.Second, "task processed", taskGone(t, ins, queue, "run:start:run-1"))
		if n := rec.count(TypeStart, "run-1"); n != 1 {
			t.Errorf("start handler called %d times for three enqueues, want once", n)
		}
	})
}

func TestReenqueueAfterCompletion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		rec := &recorder{}
		startWorker(t, opt, testConfig(t, queue), rec)
		c := newClient(t, opt, queue)
		ins := inspector(t, opt)
		for i := 1; i <= 3; i++ {
			if err := c.Finalize(t.Context(), "run-1"); err != nil {
				t.Fatalf("enqueue %d: %v", i, err)
			}
			eventually(t, 10*time.Second, "finalize ran again", func() bool { return rec.count(TypeFinalize, "run-1") == i })
			// Until asynq has acknowledged it, the step counts as running and an enqueue
			// of the same step is a no-op.
			eventually(t, 10*time.Second, "finalize acknowledged", taskGone(t, ins, queue, TaskID(TypeFinalize, "run-1")))
		}
	})
}

func TestFinalErrorsAreNotRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		errs := map[string]error{
			"run-invalid":  wes.Errorf(wes.EINVALID, "run is not QUEUED"),
			"run-notfound": wes.Errorf(wes.ENOTFOUND, "run was not found"),
		}
		rec := &recorder{behave: func(c call, _ int) error { return errs[c.runID] }}
		startWorker(t, opt, testConfig(t, queue), rec)
		c := newClient(t, opt, queue)
		ins := inspector(t, opt)
		for id, want := range errs {
			if err := c.Start(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			var info *asynq.TaskInfo
			eventually(t, 10*time.Second, id+" archived", func() bool {
				info, _ = ins.GetTaskInfo(queue, TaskID(TypeStart, id))
				return info != nil && info.State == asynq.TaskStateArchived
			})
			if info.Retried != 0 || !strings.Contains(info.LastErr, wes.ErrorMessage(want)) {
				t.Errorf("%s: archived after %d retries with %q; want none, with the handler's error", id, info.Retried, info.LastErr)
			}
			if n := rec.count(TypeStart, id); n != 1 {
				t.Errorf("%s: handler called %d times, want once", id, n)
			}
		}
	})
}

func TestTransientErrorsAreRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		rec := &recorder{behave: func(c call, n int) error {
			if n < 2 {
				return &wes.Error{Code: wes.EUNAVAILABLE, Message: "executor busy"}
			}
			return nil
		}}
		startWorker(t, opt, testConfig(t, queue), rec)
		c := newClient(t, opt, queue)
		ins := inspector(t, opt)
		if err := c.Start(t.Context(), "run-1"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, "third attempt succeeded", func() bool {
			return rec.count(TypeStart, "run-1") == 3 && taskGone(t, ins, queue, "run:start:run-1")()
		})
		for i, c := range rec.all() {
			if c.retried != i {
				t.Errorf("attempt %d saw retry count %d", i, c.retried)
			}
		}
	})
}

func TestMaxRetryArchives(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		rec := &recorder{behave: func(call, int) error { return errors.New("still broken") }}
		cfg := testConfig(t, queue)
		cfg.MaxRetry = 2
		startWorker(t, opt, cfg, rec)
		c := newClient(t, opt, queue)
		ins := inspector(t, opt)
		if err := c.Cancel(t.Context(), "run-1"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, "archived after the retries", func() bool {
			info, _ := ins.GetTaskInfo(queue, "run:cancel:run-1")
			return info != nil && info.State == asynq.TaskStateArchived
		})
		if n := rec.count(TypeCancel, "run-1"); n != 3 {
			t.Errorf("handler called %d times with MaxRetry 2, want 3", n)
		}
	})
}

func TestPanicBecomesError(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		rec := &recorder{behave: func(c call, n int) error {
			if c.runID == "run-bad" && n == 0 {
				panic("nil map somewhere")
			}
			return nil
		}}
		startWorker(t, opt, testConfig(t, queue), rec)
		c := newClient(t, opt, queue)
		if err := c.Start(t.Context(), "run-bad"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the panicking step retried and done", func() bool {
			return rec.count(TypeStart, "run-bad") == 2
		})
		if err := c.Start(t.Context(), "run-good"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the worker still runs steps", func() bool {
			return rec.count(TypeStart, "run-good") == 1
		})
	})
}

func TestTaskTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		sawDeadline := make(chan bool, 4)
		rec := &recorder{}
		cfg := testConfig(t, queue)
		cfg.TaskTimeout = 100 * time.Millisecond
		h := timeoutHandlers{recorder: rec, saw: sawDeadline}
		startWorker(t, opt, cfg, h)
		c := newClient(t, opt, queue)
		if err := c.Start(t.Context(), "run-1"); err != nil {
			t.Fatal(err)
		}
		select {
		case ok := <-sawDeadline:
			if !ok {
				t.Errorf("the step's context had no deadline within TaskTimeout")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("step did not run")
		}
	})
}

// timeoutHandlers reports whether a start step's context ends within about TaskTimeout.
type timeoutHandlers struct {
	*recorder
	saw chan bool
}

func (h timeoutHandlers) Start(ctx context.Context, _ string) error {
	dl, ok := ctx.Deadline()
	h.saw <- ok && time.Until(dl) <= 100*time.Millisecond
	<-ctx.Done()
	return ctx.Err()
}

func TestClientErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		c := newClient(t, opt, queue)
		if err := c.Start(t.Context(), ""); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("Start with no run id = %v, want EINVALID", err)
		}
	})
	dead := asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond}
	c := NewClient(dead, "q")
	defer c.Close()
	err := c.Start(t.Context(), "run-1")
	if !wes.IsCode(err, wes.EUNAVAILABLE) || errors.Unwrap(err) == nil {
		t.Errorf("Start with Redis down = %v, want EUNAVAILABLE wrapping the cause", err)
	}
	w := NewWorker(dead, WorkerConfig{Logger: testConfig(t, "q").Logger}, &recorder{})
	defer w.Shutdown()
	if err := w.Start(); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Worker.Start with Redis down = %v, want EUNAVAILABLE", err)
	}
}

func TestRetryDelay(t *testing.T) {
	f := retryDelay(time.Second)
	prev := time.Duration(0)
	for n := range 40 {
		d := f(n, nil, nil)
		if d > maxRetryDelay {
			t.Errorf("retry %d waits %v, above the cap %v", n, d, maxRetryDelay)
		}
		if n < 4 && d < prev {
			t.Errorf("retry %d waits %v, less than retry %d (%v)", n, d, n-1, prev)
		}
		if n >= 10 && d < maxRetryDelay*3/4 {
			t.Errorf("retry %d waits %v, want about the cap", n, d)
		}
		prev = d
	}
	if d := f(0, nil, nil); d < time.Second || d > 1250*time.Millisecond {
		t.Errorf("first retry waits %v, want the base delay plus at most a quarter", d)
	}
}

func TestWorkerLogsThroughSlog(t *testing.T) {
	opt := backends[1].opt(t) // miniredis: this is about logging only
	queue := useQueue(t, opt)
	var buf lockedBuffer
	cfg := testConfig(t, queue)
	cfg.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	rec := &recorder{behave: func(call, int) error { return errors.New("boom") }}
	cfg.MaxRetry = -1
	startWorker(t, opt, cfg, rec)
	c := newClient(t, opt, queue)
	if err := c.Start(t.Context(), "run-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "failure logged", func() bool {
		return strings.Contains(buf.String(), `"msg":"step failed; not retrying"`)
	})
	out := buf.String()
	for _, want := range []string{
		`"source":"asynq"`, `"msg":"Starting processing"`, // asynq's own messages
		`"component":"queue"`, `"run_id":"run-1"`, `"task":"run:start"`, `"err":"boom`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the worker's goroutines and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
