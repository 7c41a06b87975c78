package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/config"
)

// Deadlines of the start-up tests: generous, as the machine is shared; every wait
// returns as soon as its condition holds.
const startupDeadline = 60 * time.Second

// testConfig is a configuration for an app under test on redisAddr: its own key prefix
// and queue, port 0, and engines that are scripts of the test (fakeEngines).
func testConfig(t *testing.T, redisAddr string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.ShutdownTimeout = 5 * time.Second
	cfg.Redis.Addr = redisAddr
	unique := testutil.UniqueName("enclave-app-startup-")
	cfg.Redis.KeyPrefix, cfg.Redis.Queue = unique+":", unique
	cfg.DataDir = t.TempDir()
	cfg.Executor.Local.Grace = 2 * time.Second
	cfg.Worker.ReconcileInterval = 250 * time.Millisecond
	dir := t.TempDir()
	cfg.Engines.Snakemake.Binary = script(t, dir, "snakemake", "echo 7.32.4")
	cfg.Engines.Cwltool.Binary = script(t, dir, "cwltool", "echo /usr/bin/cwltool 3.1.20230209161050")
	cfg.Engines.Nextflow.Binary = filepath.Join(dir, "nextflow") // configured 24.10.0, not installed
	return cfg
}

// script writes an executable shell script dir/name with body and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// wipe removes cfg's keys and queue from the Redis at cfg.Redis.Addr.
func wipe(t *testing.T, cfg config.Config) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, pattern := range []string{cfg.Redis.KeyPrefix + "*", "asynq:{" + cfg.Redis.Queue + "}*"} {
		iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = rdb.Unlink(ctx, keys...).Err()
		}
	}
	_ = rdb.SRem(ctx, "asynq:queues", cfg.Redis.Queue).Err()
}

// logTap is a log that tests wait on: every write wakes the waiters.
type logTap struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	wake chan struct{}
}

func newLogTap() *logTap { return &logTap{wake: make(chan struct{})} }

func (l *logTap) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.wake)
	l.wake = make(chan struct{})
	return len(p), nil
}

func (l *logTap) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func (l *logTap) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// wait returns the first log line holding every part, waiting for it.
func (l *logTap) wait(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.NewTimer(startupDeadline)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		lines, wake := strings.Split(l.buf.String(), "\n"), l.wake
		l.mu.Unlock()
	next:
		for _, line := range lines {
			for _, p := range parts {
				if !strings.Contains(line, p) {
					continue next
				}
			}
			return line
		}
		select {
		case <-wake:
		case <-deadline.C:
			t.Fatalf("no log line with %q within %s; the log:\n%s", parts, startupDeadline, l)
		}
	}
}

// running is an app whose Run goes on in the background.
type running struct {
	a    *App
	done chan error
	stop context.CancelFunc
}

// runApp builds the app (failing the test if New does) and starts Run; the test's end
// stops it and checks that it stopped cleanly.
func runApp(t *testing.T, cfg config.Config, roles Roles, log *slog.Logger) *running {
	t.Helper()
	a, err := New(context.Background(), cfg, roles, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.up.hold = 100 * time.Millisecond // requests during start-up are answered quickly here
	ctx, stop := context.WithCancel(context.Background())
	r := &running{a: a, done: make(chan error, 1), stop: stop}
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(startupDeadline):
			t.Error("Run did not return after its context ended")
		}
	})
	return r
}

// alive fails the test if Run has returned.
func (r *running) alive(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		t.Fatalf("Run returned while it should wait: %v", err)
	default:
	}
}

// untilReady polls Ready until it holds.
func (r *running) untilReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(startupDeadline)
	for {
		ok, waiting := r.a.Ready()
		if ok {
			return
		}
		r.alive(t)
		if time.Now().After(deadline) {
			t.Fatalf("not ready within %s, waiting for %v", startupDeadline, waiting)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// get sends GET path to the app and returns status, body and headers.
func (r *running) get(t *testing.T, path string) (int, string, http.Header) {
	t.Helper()
	return do(t, http.MethodGet, "http://"+r.a.Addr()+path, "", nil)
}

func do(t *testing.T, method, url, contentType string, body io.Reader) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// runForm is a run request: form fields and attached files (name → content).
type runForm struct{ fields, files map[string]string }

// submit posts a run.
func (r *running) submit(t *testing.T, f runForm) (int, string, http.Header) {
	t.Helper()
	fields, files := f.fields, f.files
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for name, content := range files {
		w, err := mw.CreateFormFile("workflow_attachment", name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, content)
	}
	_ = mw.Close()
	return do(t, http.MethodPost, "http://"+r.a.Addr()+"/ga4gh/wes/v1/runs", mw.FormDataContentType(), &b)
}

// readyz returns GET /readyz's status and what it waits for.
func (r *running) readyz(t *testing.T) (int, []string) {
	t.Helper()
	st, body, _ := r.get(t, "/readyz")
	var v struct {
		Status     string   `json:"status"`
		WaitingFor []string `json:"waiting_for"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("/readyz: %d %q: %v", st, body, err)
	}
	return st, v.WaitingFor
}

// redisServer starts the real redis-server on addr with its data in dir, and stops it
// at the end of the test.
func redisServer(t *testing.T, addr, dir string, extra ...string) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is required under CI")
		}
		t.Skip("SKIP: redis-server is not installed (`make setup` installs it)")
	}
	_, port, _ := net.SplitHostPort(addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log")}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// pingUntil pings addr until the answer satisfies ok.
func pingUntil(t *testing.T, addr, what string, ok func(error) bool) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(startupDeadline)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if ok(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s: %s not seen within %s (last: %v)", addr, what, startupDeadline, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// untilHealthy polls /healthz until it answers 200 (start-up is over).
func untilHealthy(t *testing.T, r *running) {
	t.Helper()
	deadline := time.Now().Add(startupDeadline)
	for {
		st, _, _ := r.get(t, "/healthz")
		if st == http.StatusOK {
			return
		}
		r.alive(t)
		if time.Now().After(deadline) {
			t.Fatalf("/healthz is still %d after %s", st, startupDeadline)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(startupDeadline)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %s", path, startupDeadline)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func redisAddr(t *testing.T) string { return testutil.RedisAddr(t) }
