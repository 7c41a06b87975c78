package config

import "strings"

// validateRedisTopology checks that at most one way to reach Redis is configured
// (redis.addr, redis.sentinel or redis.cluster) and that the chosen one is complete.
func (v *validator) validateRedisTopology(r RedisConfig) {
	var chosen []string
	if r.Addr != "" {
		chosen = append(chosen, "redis.addr")
	}
	if r.Sentinel.Enabled() {
		chosen = append(chosen, "redis.sentinel")
	}
	if r.Cluster.Enabled() {
		chosen = append(chosen, "redis.cluster")
	}
	if len(chosen) > 1 {
		v.Add(chosen[1], "is set together with %s: configure exactly one of redis.addr, redis.sentinel and redis.cluster",
			strings.Join(append(chosen[:1:1], chosen[2:]...), " and "))
	}
	if s := r.Sentinel; s.Enabled() {
		v.Check("redis.sentinel.master_name", s.MasterName != "", "must be set with redis.sentinel.addrs: the name the Sentinels monitor the primary under")
		v.Check("redis.sentinel.addrs", len(s.Addrs) > 0, "must list at least one Sentinel host:port with redis.sentinel.master_name")
		for _, a := range s.Addrs {
			v.HostPort("redis.sentinel.addrs", a)
		}
	}
	if c := r.Cluster; c.Enabled() {
		for _, a := range c.Addrs {
			v.HostPort("redis.cluster.addrs", a)
		}
		v.Check("redis.db", r.DB == 0, "must be 0 with redis.cluster: a Redis Cluster has only database 0")
		v.Check("redis.key_prefix", HasHashTag(r.KeyPrefix),
			`must hold a hash tag with redis.cluster, such as "{enclave}:": Enclave changes several keys in one transaction, which Redis Cluster allows only within one hash slot`)
	}
}

// HasHashTag reports whether every key starting with prefix hashes by a tag inside the
// prefix, as Redis Cluster computes it: the text between the first "{" and the first "}"
// after it, when not empty.
func HasHashTag(prefix string) bool {
	open := strings.IndexByte(prefix, '{')
	if open < 0 {
		return false
	}
	end := strings.IndexByte(prefix[open+1:], '}')
	return end > 0
}
