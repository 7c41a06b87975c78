package app

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Two worker processes on one Redis elect one reconciler through the lease: one logs that
// it reconciles, the other that it stands by; when the leader stops, it gives the lease up
// and the other takes over.
func TestWorkersElectOneReconciler(t *testing.T) {
	cfg := testConfig(t, redisAddr(t))
	t.Cleanup(func() { wipe(t, cfg) })
	logs := []*logTap{newLogTap(), newLogTap()}
	apps := []*running{runApp(t, cfg, Roles{Worker: true}, logs[0].logger())}
	logs[0].wait(t, "this worker reconciles now") // the first worker alone takes the lease
	apps = append(apps, runApp(t, cfg, Roles{Worker: true}, logs[1].logger()))
	logs[1].wait(t, "another worker reconciles; this one stands by")
	if s := logs[1].String(); strings.Contains(s, "this worker reconciles now") {
		t.Fatalf("the second worker reconciles too:\n%s", s)
	}

	rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	key := cfg.Redis.KeyPrefix + "lease:reconciler"
	first := rdb.Get(t.Context(), key).Val()
	if first == "" {
		t.Fatalf("no lease at %s", key)
	}

	apps[0].stop()
	logs[0].wait(t, "gave the reconciler lease up")
	logs[1].wait(t, "this worker reconciles now")
	if now := rdb.Get(t.Context(), key).Val(); now == "" || now == first {
		t.Errorf("the lease is held by %q after the leader %q stopped, want the other worker", now, first)
	}
}
