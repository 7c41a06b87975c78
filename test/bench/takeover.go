package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeoverResult is how soon a standby worker took the reconciler over after the leader
// was killed with SIGKILL.
type takeoverResult struct {
	Workers    int       `json:"workers"`
	IntervalMs float64   `json:"reconcile_interval_ms"`
	TTLMs      float64   `json:"lease_ttl_ms"`
	TookMs     []float64 `json:"takeover_ms"` // one per kill
	MaxMs      float64   `json:"takeover_max_ms"`
}

// Settings of the takeover measurement: the production defaults of the interval and the
// lease (three intervals), three workers, and a kill of each leader but the last.
const (
	takeoverWorkers  = 3
	takeoverInterval = time.Second
	takeoverTTL      = 3 * takeoverInterval
	takeoverWait     = 20 * time.Second // for a leader to appear, at start and after a kill
	takeoverPoll     = 5 * time.Millisecond
	// takeoverSlack is what the target allows beyond the lease's TTL plus one interval: a
	// renewal in flight at the kill, the bench's poll, a busy machine's scheduling.
	takeoverSlack = 100 * time.Millisecond
)

// measureTakeover starts takeoverWorkers `enclave worker` processes of bin on one Redis
// key prefix and queue, then, takeoverWorkers-1 times, finds the leader through the
// lease's value (host/pid/random), kills that process with SIGKILL and measures the time
// until another worker holds the lease (its first reconcile pass follows at once). The
// workers' logs go to dir.
func measureTakeover(ctx context.Context, bin, redisAddr, dir string) (*takeoverResult, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s: %w (make bench builds it; or pass -enclave-bin)", bin, err)
	}
	cfg := benchConfig(redisAddr, filepath.Join(dir, "data"))
	defer func() { _ = wipe(context.Background(), redisAddr, cfg) }()
	env := append(os.Environ(),
		"ENCLAVE_REDIS_ADDR="+redisAddr, "ENCLAVE_REDIS_KEY_PREFIX="+cfg.Redis.KeyPrefix, "ENCLAVE_REDIS_QUEUE="+cfg.Redis.Queue,
		"ENCLAVE_DATA_DIR="+cfg.DataDir, "ENCLAVE_SERVER_ADDR=127.0.0.1:0", "ENCLAVE_LOG_LEVEL=info",
		"ENCLAVE_WORKER_RECONCILE_INTERVAL="+takeoverInterval.String(),
		// Versions given: the workers need not ask the engines (less CPU at start-up).
		"ENCLAVE_ENGINES_SNAKEMAKE_VERSIONS=7.32.4", "ENCLAVE_ENGINES_CWLTOOL_VERSIONS=3.1")
	procs := map[int]*exec.Cmd{}
	exited := map[int]chan struct{}{}
	defer func() { stopWorkers(procs, exited) }()
	for i := range takeoverWorkers {
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.log", i)))
		if err != nil {
			return nil, err
		}
		defer logf.Close()
		cmd := exec.Command(bin, "worker")
		cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s worker: %w", bin, err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		procs[cmd.Process.Pid], exited[cmd.Process.Pid] = cmd, done
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	key := cfg.Redis.KeyPrefix + "lease:reconciler"
	res := &takeoverResult{Workers: takeoverWorkers, IntervalMs: ms(takeoverInterval), TTLMs: ms(takeoverTTL)}

	holder, err := nextHolder(ctx, rdb, key, "")
	if err != nil {
		return res, fmt.Errorf("%w: is %s older than the reconciler lease (make build)? worker logs in %s", err, bin, dir)
	}
	for kill := 1; kill < takeoverWorkers; kill++ {
		pid, err := holderPID(holder)
		if err != nil {
			return res, err
		}
		cmd := procs[pid]
		if cmd == nil {
			return res, fmt.Errorf("the lease is held by %q, not by a worker the bench started", holder)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			return res, err
		}
		killed := time.Now()
		<-exited[pid]
		delete(procs, pid)
		next, err := nextHolder(ctx, rdb, key, holder)
		if err != nil {
			return res, fmt.Errorf("after killing the leader (pid %d): %w", pid, err)
		}
		took := time.Since(killed)
		res.TookMs = append(res.TookMs, ms(took))
		res.MaxMs = max(res.MaxMs, ms(took))
		progress("reconciler takeover: leader pid %d killed with SIGKILL; %s took over after %v", pid, next, took.Round(time.Millisecond))
		holder = next
	}
	return res, nil
}

// nextHolder polls the lease until someone other than prev holds it and returns them.
func nextHolder(ctx context.Context, rdb *redis.Client, key, prev string) (string, error) {
	deadline := time.Now().Add(takeoverWait)
	for {
		h, err := rdb.Get(ctx, key).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return "", err
		}
		if h != "" && h != prev {
			return h, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no worker took the reconciler lease within %s", takeoverWait)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(takeoverPoll): // polling Redis: the measurement's resolution
		}
	}
}

// holderPID is the process id in a lease holder "host/pid/random".
func holderPID(holder string) (int, error) {
	parts := strings.Split(holder, "/")
	if len(parts) != 3 {
		return 0, fmt.Errorf("lease holder %q is not host/pid/random", holder)
	}
	return strconv.Atoi(parts[1])
}

// stopWorkers stops the workers left with SIGTERM, and kills those that do not exit
// within 10 s.
func stopWorkers(procs map[int]*exec.Cmd, exited map[int]chan struct{}) {
	for _, cmd := range procs {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	limit := time.After(10 * time.Second)
	for pid, cmd := range procs {
		select {
		case <-exited[pid]:
		case <-limit:
			_ = cmd.Process.Kill()
			<-exited[pid]
		}
	}
}
