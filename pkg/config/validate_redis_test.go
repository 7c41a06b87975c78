package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRedisTopologyRules(t *testing.T) {
	sentinel := func(c *Config) {
		c.Redis.Sentinel = RedisSentinelConfig{MasterName: "enclave", Addrs: []string{"s1:26379", "s2:26379"}}
	}
	cluster := func(c *Config) {
		c.Redis.Cluster.Addrs = []string{"c1:6379"}
		c.Redis.KeyPrefix = "{enclave}:"
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		path   string // the key the error must name
		want   string // a fragment of its message
	}{
		{"addr and sentinel", func(c *Config) { sentinel(c); c.Redis.Addr = "r:6379" }, "redis.sentinel", "together with redis.addr: configure exactly one"},
		{"addr and cluster", func(c *Config) { cluster(c); c.Redis.Addr = "r:6379" }, "redis.cluster", "together with redis.addr"},
		{"sentinel and cluster", func(c *Config) { sentinel(c); cluster(c) }, "redis.cluster", "together with redis.sentinel"},
		{"all three", func(c *Config) { sentinel(c); cluster(c); c.Redis.Addr = "r:6379" }, "redis.sentinel", "redis.addr and redis.cluster"},
		{"sentinel without master", func(c *Config) { sentinel(c); c.Redis.Sentinel.MasterName = "" }, "redis.sentinel.master_name", "must be set"},
		{"sentinel without addrs", func(c *Config) { c.Redis.Sentinel.MasterName = "enclave" }, "redis.sentinel.addrs", "at least one"},
		{"sentinel bad addr", func(c *Config) { sentinel(c); c.Redis.Sentinel.Addrs[1] = "s2" }, "redis.sentinel.addrs", "host:port"},
		{"cluster bad addr", func(c *Config) { cluster(c); c.Redis.Cluster.Addrs = []string{"c1"} }, "redis.cluster.addrs", "host:port"},
		{"cluster db", func(c *Config) { cluster(c); c.Redis.DB = 3 }, "redis.db", "must be 0 with redis.cluster"},
		{"cluster prefix without tag", func(c *Config) { cluster(c); c.Redis.KeyPrefix = "enclave:" }, "redis.key_prefix", "hash tag"},
		{"cluster prefix empty tag", func(c *Config) { cluster(c); c.Redis.KeyPrefix = "{}enclave:" }, "redis.key_prefix", "hash tag"},
		{"cluster prefix open tag", func(c *Config) { cluster(c); c.Redis.KeyPrefix = "{enclave:" }, "redis.key_prefix", "hash tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.path+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want %q naming %q", err, tt.want, tt.path)
			}
		})
	}
}

func TestRedisTopologyAccepts(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"sentinel": func(c *Config) {
			c.Redis.Sentinel = RedisSentinelConfig{MasterName: "enclave", Addrs: []string{"s1:26379"}, Username: "u", Password: "p"}
		},
		"cluster": func(c *Config) {
			c.Redis.Cluster.Addrs = []string{"c1:6379", "c2:6379"}
			c.Redis.KeyPrefix = "{enclave}:"
		},
		"cluster tag inside": func(c *Config) { c.Redis.Cluster.Addrs = []string{"c1:6379"}; c.Redis.KeyPrefix = "site-{a}:" },
	} {
		c := Default()
		edit(&c)
		c.Worker.InProcess = false // a real Redis: separate workers are fine
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v", name, err)
		}
		if c.Embedded() {
			t.Errorf("%s: Embedded() = true", name)
		}
	}
}

// The keys the chart renders load from a file and the environment, and the Sentinels'
// password is redacted.
func TestRedisSentinelLoads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "enclave.yaml")
	yaml := "redis:\n  sentinel:\n    master_name: enclave\n    addrs: [\"s1:26379\", \"s2:26379\"]\n    username: watcher\n"
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, []string{"ENCLAVE_REDIS_SENTINEL_PASSWORD=sentinel-secret", "ENCLAVE_REDIS_PASSWORD=primary-secret"})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Redis.Sentinel
	if s.MasterName != "enclave" || !slices.Equal(s.Addrs, []string{"s1:26379", "s2:26379"}) || s.Username != "watcher" ||
		s.Password != "sentinel-secret" || c.Redis.Password != "primary-secret" {
		t.Errorf("Load() = %+v (redis.password %q)", s, c.Redis.Password)
	}
	if r := c.Redacted(); r.Redis.Sentinel.Password != RedactedValue {
		t.Errorf("Redacted().Redis.Sentinel.Password = %q", r.Redis.Sentinel.Password)
	}
}

func TestHasHashTag(t *testing.T) {
	for prefix, want := range map[string]bool{
		"{enclave}:": true, "a{b}c:": true, "{x}{y}": true,
		"enclave:": false, "{}x:": false, "{x": false, "}x{": false, "{}{x}": false,
	} {
		if got := HasHashTag(prefix); got != want {
			t.Errorf("HasHashTag(%q) = %v, want %v", prefix, got, want)
		}
	}
}
