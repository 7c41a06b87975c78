// Package testutil gives tests real components: a real Redis server (the one `make test`
// starts, or one started here for the package), unique key prefixes and queue names.
package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisAddrEnv names the environment variable `make test` sets to the address of the
// real Redis server it started.
const RedisAddrEnv = "ENCLAVE_TEST_REDIS_ADDR"

var (
	startOnce sync.Once
	startAddr string
	startErr  error
)

// RedisAddr returns the address of a real Redis server for tests: $ENCLAVE_TEST_REDIS_ADDR
// if set, otherwise a redis-server started once for this test binary (stopped when the
// process exits, data in a temp dir). Without either, the test is skipped with the reason,
// except under CI (CI=true), where a missing Redis fails the test: CI must not skip it.
func RedisAddr(tb testing.TB) string {
	tb.Helper()
	if a := os.Getenv(RedisAddrEnv); a != "" {
		return a
	}
	startOnce.Do(func() { startAddr, startErr = startRedis() })
	if startErr != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("real Redis required under CI: %v", startErr)
		}
		tb.Skipf("SKIP: no real Redis (set %s or install redis-server; `make test` does both): %v", RedisAddrEnv, startErr)
	}
	return startAddr
}

func startRedis() (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server not on PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "enclave-test-redis-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(context.Background()).Err(); err == nil {
			return addr, nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return "", fmt.Errorf("redis-server on %s did not answer PING", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Redis returns a client to the test Redis, closed when the test ends.
func Redis(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: RedisAddr(tb)})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// UniqueName returns prefix followed by random hex, for key prefixes and queue names that
// keep tests sharing one Redis apart.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
