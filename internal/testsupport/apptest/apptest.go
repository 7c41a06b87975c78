// Package apptest runs one whole Enclave (internal/app, API and worker) inside a test
// process, against the real Redis of the tests, for tests that drive it over HTTP.
// Packages using it need local.MaybeShim() first in TestMain: the local executor uses the
// test binary as its job supervisor.
package apptest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/app"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/config"
)

// Config returns the defaults adjusted for a test server: the tests' real Redis with a key
// prefix and queue of its own (named after name), port 0 on loopback, dataDir, and short
// grace and reconcile intervals.
func Config(tb testing.TB, name, dataDir string) config.Config {
	tb.Helper()
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.ShutdownTimeout = 5 * time.Second
	cfg.Redis.Addr = testutil.RedisAddr(tb)
	unique := testutil.UniqueName(name)
	cfg.Redis.KeyPrefix = unique + ":"
	cfg.Redis.Queue = unique
	cfg.DataDir = dataDir
	cfg.Executor.Local.Grace = 2 * time.Second
	cfg.Worker.ReconcileInterval = 250 * time.Millisecond
	return cfg
}

// Start runs Enclave with cfg until the test ends, waits until it answers /healthz and
// returns its host:port. At the end it stops the server (failing the test if that takes
// over 30 s or ends in an error) and removes what it wrote to Redis.
func Start(tb testing.TB, cfg config.Config) string {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	nctx, cancelNew := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelNew()
	a, err := app.New(nctx, cfg, app.Roles{API: true, Worker: true}, log)
	if err != nil {
		tb.Fatalf("app.New: %v", err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(rctx) }()
	rdb := testutil.Redis(tb)
	tb.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("enclave stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Error("enclave did not stop within 30s")
		}
		if err := WipeRedis(rdb, cfg); err != nil {
			tb.Errorf("wiping the test's Redis keys: %v", err)
		}
	})

	addr := a.Addr()
	hc := &http.Client{Timeout: time.Second}
	// /healthz answers 200 once start-up is over: Redis answered and every engine's
	// version was asked for (a few seconds on a loaded machine).
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("enclave did not answer /healthz within 60s: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// WipeRedis removes cfg's keys and its asynq queue from rdb.
func WipeRedis(rdb *redis.Client, cfg config.Config) error {
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
