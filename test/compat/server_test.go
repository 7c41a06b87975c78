package compat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/app"
	"github.com/spe4hd/enclave/internal/testutil"
	"github.com/spe4hd/enclave/pkg/config"
)

// startEnclave runs one whole Enclave (API and worker, internal/app) in this process on
// port 0, with the real Redis of the tests, its own key prefix, queue and data
// directory, and returns its address. Everything is stopped and removed when the test
// ends: runs still going are cancelled first, so no job outlives the test.
func startEnclave(t *testing.T) string {
	t.Helper()
	redisAddr := testutil.RedisAddr(t)
	dataDir, err := os.MkdirTemp("", "enclave-compat-")
	if err != nil {
		t.Fatal(err)
	}
	// Removed last, and best effort: a cancelled job's files may still be closing.
	t.Cleanup(func() { _ = os.RemoveAll(dataDir) })
	rdb := testutil.Redis(t)

	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.ShutdownTimeout = 5 * time.Second
	cfg.Redis.Addr = redisAddr
	name := testutil.UniqueName("compat")
	cfg.Redis.KeyPrefix = name + ":"
	cfg.Redis.Queue = name
	cfg.DataDir = dataDir
	cfg.Executor.Local.Grace = 2 * time.Second
	cfg.Worker.ReconcileInterval = 250 * time.Millisecond

	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	nctx, cancelNew := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelNew()
	a, err := app.New(nctx, cfg, app.Roles{API: true, Worker: true}, log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(rctx) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("enclave stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("enclave did not stop within 30s")
		}
		if err := wipe(rdb, cfg); err != nil {
			t.Errorf("wiping the test's Redis keys: %v", err)
		}
	})
	addr := a.Addr()
	t.Cleanup(func() { cancelLeftovers(t, "http://"+addr+apiBase) })

	hc := &http.Client{Timeout: time.Second}
	eventually(t, 10*time.Second, "enclave answers /healthz", func() (bool, string) {
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return addr
}

// cancelLeftovers cancels every run that has not ended (after a failed test) and waits
// for them to end, so no job keeps writing into the data directory. It is cleanup, so it
// talks plain HTTP and checks nothing about the wire format.
func cancelLeftovers(t *testing.T, base string) {
	hc := &http.Client{Timeout: 5 * time.Second}
	live := func() []string {
		resp, err := hc.Get(base + "/runs?page_size=500")
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var page struct {
			Runs []struct {
				RunID string `json:"run_id"`
				State string `json:"state"`
			} `json:"runs"`
		}
		if b, _ := io.ReadAll(resp.Body); json.Unmarshal(b, &page) != nil {
			return nil
		}
		var ids []string
		for _, r := range page.Runs {
			if !terminal(r.State) {
				ids = append(ids, r.RunID)
			}
		}
		return ids
	}
	ids := live()
	for _, id := range ids {
		if resp, err := hc.Post(base+"/runs/"+id+"/cancel", "", nil); err == nil {
			resp.Body.Close()
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(ids) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		ids = live()
	}
	if len(ids) > 0 {
		t.Logf("runs still not ended at cleanup: %v", ids)
	}
}

// terminal reports whether a run in WES state s will not change again.
func terminal(s string) bool {
	switch s {
	case "COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED":
		return true
	}
	return false
}

// wipe removes what the app wrote to Redis: its keys and its asynq queue, whose keys all
// carry the queue name in a hash tag.
func wipe(rdb *redis.Client, cfg config.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, pattern := range []string{cfg.Redis.KeyPrefix + "*", "asynq:{" + cfg.Redis.Queue + "}*"} {
		iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		errs = append(errs, iter.Err())
		if len(keys) > 0 {
			errs = append(errs, rdb.Unlink(ctx, keys...).Err())
		}
	}
	errs = append(errs, rdb.SRem(ctx, "asynq:queues", cfg.Redis.Queue).Err())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("prefix %s, queue %s: %w", cfg.Redis.KeyPrefix, cfg.Redis.Queue, err)
	}
	return nil
}
