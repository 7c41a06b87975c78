package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/config"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// clusterEnv returns the addresses of the test Redis Cluster (scripts/redis-cluster.sh), or
// skips the test (fails it under CI).
func clusterEnv(t *testing.T) []string {
	t.Helper()
	addrs := os.Getenv("ENCLAVE_TEST_CLUSTER_ADDRS")
	if addrs == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ENCLAVE_TEST_CLUSTER_ADDRS is required under CI (scripts/test-services.sh sets it)")
		}
		t.Skip("SKIP: no Redis Cluster (ENCLAVE_TEST_CLUSTER_ADDRS; scripts/test-services.sh or scripts/redis-cluster.sh start it)")
	}
	list := strings.Split(addrs, ",")
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: list})
	defer c.Close()
	until(t, "the cluster to serve every slot", func() bool {
		info, err := c.ClusterInfo(context.Background()).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	})
	return list
}

// The whole server and worker run on a Redis Cluster with a hash-tagged key prefix: the
// store's transactions, the audit trail, the leases and asynq's scripts all stay within
// their slots, and runs complete with their terminal audit event.
func TestClusterRuns(t *testing.T) {
	addrs := clusterEnv(t)
	cfg := testConfig(t, "")
	cfg.Redis.Cluster.Addrs = addrs
	cfg.Redis.KeyPrefix = "{" + strings.TrimSuffix(cfg.Redis.KeyPrefix, ":") + "}:"
	dir := t.TempDir()
	cfg.Engines.Snakemake.Binary = script(t, dir, "snakemake", `[ "$1" = --version ] && { echo 7.32.4; exit 0; }
true`)
	cfg.Executor.Local.Confinement = "off"
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { wipeUniversal(t, rdb, cfg); _ = rdb.Close() })
	log := newLogTap()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server's log:\n%s", log)
		}
	})
	r := runApp(t, cfg, Roles{API: true, Worker: true}, log.logger())
	r.untilReady(t)
	var ids []string
	for range 3 {
		ids = append(ids, r.submitRun(t, failoverDeadline))
	}
	until(t, "every run COMPLETE and its outbox drained", func() bool {
		for _, id := range ids {
			if st, _ := r.runState(t, id); st != "COMPLETE" {
				return false
			}
		}
		n, err := rdb.SCard(context.Background(), cfg.Redis.KeyPrefix+"effects").Result()
		return err == nil && n == 0
	})
	for _, id := range ids {
		if events := terminalEvents(t, r, id); len(events) != 1 {
			t.Errorf("run %s: terminal run.state audit events %v, want exactly one", id, events)
		}
	}
}

// Without a hash tag in the prefix the store's transactions span slots, and the cluster
// refuses them: why redis.cluster requires one (config.HasHashTag).
func TestClusterNeedsHashTag(t *testing.T) {
	addrs := clusterEnv(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer rdb.Close()
	prefix := testutil.UniqueName("enclave-untagged-") + ":"
	if config.HasHashTag(prefix) {
		t.Fatalf("%q has a hash tag", prefix)
	}
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix})
	err := s.Create(context.Background(), &wes.Run{ID: filepath.Base(t.TempDir()), Owner: "alice", State: wes.StateQueued})
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Errorf("Create on a cluster without a hash tag = %v, want a CROSSSLOT refusal", err)
	}
}
