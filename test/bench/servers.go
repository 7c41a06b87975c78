package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/app"
	"github.com/spe4hd/enclave/pkg/config"
)

// baseline is the reference the Enclave figures are divided by: a bare gin handler that
// does one Redis GET (of the very key Enclave's store reads for the run) and answers a
// small JSON object, on a real TCP listener, with no middleware at all.
type baseline struct {
	srv *http.Server
	ln  net.Listener
	rdb *redis.Client
}

func startBaseline(redisAddr, key string) (*baseline, error) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/status/:id", func(c *gin.Context) {
		v, err := rdb.Get(c.Request.Context(), key).Bytes()
		if err != nil {
			c.JSON(http.StatusInternalServerError, gin.H{"msg": err.Error()})
			return
		}
		c.JSON(http.StatusOK, gin.H{"run_id": c.Param("id"), "state": "QUEUED", "bytes": len(v)})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	b := &baseline{srv: &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}, ln: ln, rdb: rdb}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *baseline) url() string { return "http://" + b.ln.Addr().String() }

func (b *baseline) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
	_ = b.rdb.Close()
}

// enclave is one whole Enclave process (internal/app) running in this process, on its
// own key prefix, queue and data directory so that it shares Redis with nothing else.
type enclave struct {
	app    *app.App
	cfg    config.Config
	cancel context.CancelFunc
	done   chan error
}

// uniqueName returns prefix followed by random hex.
func uniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// benchConfig is the default configuration with only what a benchmark must change: a
// real Redis, a port chosen by the kernel, private names, a short cancel grace (the
// latency runs are cancelled at the end) and a fixed cwltool version, so no time is spent
// asking cwltool for it (the bench runs no CWL); Snakemake's is discovered as usual.
func benchConfig(redisAddr, dataDir string) config.Config {
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.ShutdownTimeout = 5 * time.Second
	cfg.Redis.Addr = redisAddr
	name := uniqueName("bench")
	cfg.Redis.KeyPrefix = name + ":"
	cfg.Redis.Queue = name
	cfg.DataDir = dataDir
	cfg.Executor.Local.Grace = 2 * time.Second
	cfg.Engines.Cwltool.Versions = []string{"3.1"}
	return cfg
}

func startEnclave(ctx context.Context, cfg config.Config, roles app.Roles, log *slog.Logger) (*enclave, error) {
	a, err := app.New(ctx, cfg, roles, log)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	e := &enclave{app: a, cfg: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- a.Run(rctx) }()
	// /healthz answers 200 once start-up is over: Redis answered, the worker started and
	// every engine was checked once (up to the first check's 30 s). Wait for that.
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.Get(e.url() + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
		if time.Now().After(deadline) {
			e.stop()
			return nil, fmt.Errorf("enclave on %s did not finish starting (/healthz): %v", a.Addr(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *enclave) url() string { return "http://" + e.app.Addr() }

func (e *enclave) api() string { return e.url() + "/ga4gh/wes/v1" }

// stop shuts the app down and waits (bounded) for Run to return.
func (e *enclave) stop() error {
	e.cancel()
	select {
	case err := <-e.done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("enclave did not stop within 30s")
	}
}

// wipe removes everything the app wrote to Redis: its keys and its asynq queue, whose
// keys all carry the queue name in a hash tag.
func wipe(ctx context.Context, redisAddr string, cfg config.Config) error {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	var errs []error
	for _, pattern := range []string{cfg.Redis.KeyPrefix + "*", "asynq:{" + cfg.Redis.Queue + "}*"} {
		iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 1000 {
				errs = append(errs, rdb.Unlink(ctx, batch...).Err())
				batch = batch[:0]
			}
		}
		errs = append(errs, iter.Err())
		if len(batch) > 0 {
			errs = append(errs, rdb.Unlink(ctx, batch...).Err())
		}
	}
	errs = append(errs, rdb.SRem(ctx, "asynq:queues", cfg.Redis.Queue).Err())
	return errors.Join(errs...)
}

func runKey(cfg config.Config, id string) string { return cfg.Redis.KeyPrefix + "run:" + id }

// redisCPUMeter returns a cpuMeter reading used_cpu_user + used_cpu_sys from the INFO of
// the Redis at addr (0 when it cannot), and a func that closes its client.
func redisCPUMeter(addr string) (cpuMeter, func()) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	return func() time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		info, err := rdb.Info(ctx, "cpu").Result()
		if err != nil {
			return 0
		}
		var total float64
		for _, line := range strings.Split(info, "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
			if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
		return time.Duration(total * float64(time.Second))
	}, func() { _ = rdb.Close() }
}
