package notify

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/wes"
)

// start returns a Notifier and a running Worker for cfg on the test Redis, each test on
// its own queue and key prefix.
func start(t *testing.T, cfg Config) (*Notifier, *Worker) {
	t.Helper()
	opt := asynq.RedisClientOpt{Addr: testutil.RedisAddr(t)}
	cfg.Queue = testutil.UniqueName("notify-test-")
	cfg.KeyPrefix = testutil.UniqueName("notify-test-") + ":"
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	n, err := New(opt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	w, err := NewWorker(opt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Shutdown)
	return n, w
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// notice is a terminal notice of a sealed run with outputs.
func notice(kind string) wes.Notice {
	return wes.Notice{ID: "run-1/7-notify-" + kind, Kind: kind, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		RunID: "run-1", State: wes.StateComplete, Workflow: "cohort-counts", Owner: "alice",
		OwnerEmail: "alice@example.org", Outputs: map[string]int{wes.OutputPending: 2}}
}

var ctx = context.Background()
