package app

import (
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/config"
)

// redisOptions is how this process reaches Redis: one server (redis.addr, or the
// embedded store at addr), a primary found through Sentinel (redis.sentinel), or a
// cluster (redis.cluster). One value builds both the go-redis client of the store, the
// audit trail and the sessions, and the asynq connection of the queue and the notifier,
// so the two always reach the same primary.
func redisOptions(r config.RedisConfig, addr string) *redis.UniversalOptions {
	o := &redis.UniversalOptions{Addrs: []string{addr}, Username: r.Username, Password: r.Password, DB: r.DB}
	switch {
	case r.Sentinel.Enabled():
		o.Addrs = r.Sentinel.Addrs
		o.MasterName = r.Sentinel.MasterName
		o.SentinelUsername, o.SentinelPassword = r.Sentinel.Username, r.Sentinel.Password
	case r.Cluster.Enabled():
		o.Addrs, o.IsClusterMode, o.DB = r.Cluster.Addrs, true, 0
	}
	return o
}

// asynqOpt is the asynq connection for the same Redis as o.
func asynqOpt(o *redis.UniversalOptions) asynq.RedisConnOpt {
	switch {
	case o.MasterName != "":
		return asynq.RedisFailoverClientOpt{MasterName: o.MasterName, SentinelAddrs: o.Addrs,
			SentinelUsername: o.SentinelUsername, SentinelPassword: o.SentinelPassword,
			Username: o.Username, Password: o.Password, DB: o.DB}
	case o.IsClusterMode:
		return asynq.RedisClusterClientOpt{Addrs: o.Addrs, Username: o.Username, Password: o.Password}
	default:
		return asynq.RedisClientOpt{Addr: o.Addrs[0], Username: o.Username, Password: o.Password, DB: o.DB}
	}
}

// redisWhere names the Redis of o for logs and errors: its address, the Sentinels'
// master name and addresses, or the cluster's seed nodes. Never a password.
func redisWhere(o *redis.UniversalOptions) string {
	switch {
	case o.MasterName != "":
		return "primary " + o.MasterName + " of sentinels " + strings.Join(o.Addrs, ",")
	case o.IsClusterMode:
		return "cluster " + strings.Join(o.Addrs, ",")
	default:
		return o.Addrs[0]
	}
}

// pingClient is a client of its own for waitRedis that tries each PING once: the
// waits there are the retries.
func pingClient(o *redis.UniversalOptions) redis.UniversalClient {
	c := *o
	c.MaxRetries, c.DialerRetries = -1, 1
	return redis.NewUniversalClient(&c)
}
