package queue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"go.uber.org/goleak"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// Environment of the helper worker process that TestRedelivery* start and kill.
const (
	helperAddrEnv  = "ENCLAVE_QUEUE_HELPER_REDIS"
	helperQueueEnv = "ENCLAVE_QUEUE_HELPER_QUEUE"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(helperAddrEnv); addr != "" {
		os.Exit(helperWorker(addr, os.Getenv(helperQueueEnv)))
	}
	goleak.VerifyTestMain(m)
}

// backend is a Redis the queue runs on: the real test Redis, or an in-process miniredis
// as in the embedded default.
type backend struct {
	name string
	opt  func(t *testing.T) asynq.RedisClientOpt
}

var backends = []backend{
	{"redis", func(t *testing.T) asynq.RedisClientOpt {
		return asynq.RedisClientOpt{Addr: testutil.RedisAddr(t)}
	}},
	{"miniredis", func(t *testing.T) asynq.RedisClientOpt {
		mr := miniredis.RunT(t)
		mr.ClockTTL(true)
		return asynq.RedisClientOpt{Addr: mr.Addr()}
	}},
}

// forEachBackend runs fn as a subtest per backend, with a fresh queue name.
func forEachBackend(t *testing.T, fn func(t *testing.T, opt asynq.RedisClientOpt, queue string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			opt := b.opt(t)
			fn(t, opt, useQueue(t, opt))
		})
	}
}

// useQueue returns a fresh queue name whose keys are removed when the test ends.
func useQueue(t *testing.T, opt asynq.RedisClientOpt) string {
	queue := testutil.UniqueName("q-")
	t.Cleanup(func() {
		ins := asynq.NewInspector(opt)
		_ = ins.DeleteQueue(queue, true)
		_ = ins.Close()
	})
	return queue
}

// call is one handler invocation as the recorder saw it.
type call struct {
	typ, runID string
	retried    int
	taskID     string
}

// recorder is a Handlers that records its calls and behaves as behave says.
type recorder struct {
	mu     sync.Mutex
	calls  []call
	behave func(c call, n int) error // n: earlier calls of the same type and run
}

func (r *recorder) do(ctx context.Context, typ, runID string) error {
	retried, _ := asynq.GetRetryCount(ctx)
	taskID, _ := asynq.GetTaskID(ctx)
	c := call{typ, runID, retried, taskID}
	r.mu.Lock()
	n := 0
	for _, x := range r.calls {
		if x.typ == typ && x.runID == runID {
			n++
		}
	}
	r.calls = append(r.calls, c)
	behave := r.behave
	r.mu.Unlock()
	if behave != nil {
		return behave(c, n)
	}
	return nil
}

func (r *recorder) Start(ctx context.Context, id string) error    { return r.do(ctx, TypeStart, id) }
func (r *recorder) Cancel(ctx context.Context, id string) error   { return r.do(ctx, TypeCancel, id) }
func (r *recorder) Finalize(ctx context.Context, id string) error { return r.do(ctx, TypeFinalize, id) }

func (r *recorder) count(typ, runID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c.typ == typ && c.runID == runID {
			n++
		}
	}
	return n
}

func (r *recorder) all() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testConfig is a WorkerConfig with quick retries, logging into the test's output.
func testConfig(t *testing.T, queue string) WorkerConfig {
	return WorkerConfig{
		Queue:                    queue,
		Concurrency:              4,
		ShutdownTimeout:          2 * time.Second,
		RetryBaseDelay:           20 * time.Millisecond,
		DelayedTaskCheckInterval: 50 * time.Millisecond,
		Logger:                   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// startWorker starts a worker and shuts it down when the test ends.
func startWorker(t *testing.T, opt asynq.RedisConnOpt, cfg WorkerConfig, h Handlers) *Worker {
	t.Helper()
	w := NewWorker(opt, cfg, h)
	if err := w.Start(); err != nil {
		t.Fatalf("Worker.Start: %v", err)
	}
	t.Cleanup(w.Shutdown)
	return w
}

func newClient(t *testing.T, opt asynq.RedisConnOpt, queue string) *Client {
	t.Helper()
	c := NewClient(opt, queue)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func inspector(t *testing.T, opt asynq.RedisConnOpt) *asynq.Inspector {
	t.Helper()
	ins := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = ins.Close() })
	return ins
}

// taskGone reports whether the task has left the queue, i.e. was processed and acked.
func taskGone(t *testing.T, ins *asynq.Inspector, queue, id string) func() bool {
	return func() bool {
		_, err := ins.GetTaskInfo(queue, id)
		return err != nil
	}
}

// testWriter sends log lines to t.Log, dropping them once the test has ended (asynq may
// still log while shutting down in a cleanup).
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// helperWorker is the body of the helper process: a worker whose start step reports
// that it began, then blocks until the process is killed (or gives up after a while, so
// that a crashed test leaves no process behind).
func helperWorker(addr, queue string) int {
	block := blocker{started: make(chan string, 1)}
	w := NewWorker(asynq.RedisClientOpt{Addr: addr}, WorkerConfig{Queue: queue, Concurrency: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, block)
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "helper worker:", err)
		return 2
	}
	select {
	case id := <-block.started:
		fmt.Printf("started %s\n", id)
	case <-time.After(time.Minute):
		return 3
	}
	time.Sleep(3 * time.Minute) // killed long before this
	return 4
}

type blocker struct{ started chan string }

func (b blocker) Start(ctx context.Context, id string) error {
	b.started <- id
	<-ctx.Done()
	return ctx.Err()
}
func (blocker) Cancel(context.Context, string) error   { return nil }
func (blocker) Finalize(context.Context, string) error { return nil }
