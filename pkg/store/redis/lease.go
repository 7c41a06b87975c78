package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// A lease is the key {p}lease:<name>, whose value is its holder and whose expiry is the
// end of the lease. Taking, renewing and giving it up each compare the holder inside one
// Lua script, so a holder whose lease expired and passed to another can neither extend nor
// delete the new holder's lease.

var _ wes.Lease = (*Lease)(nil)

// Lease is a wes.Lease on the store's Redis and key prefix.
type Lease struct {
	s   *Store
	key string
}

// Lease returns the lease called name (such as "reconciler").
func (s *Store) Lease(name string) *Lease { return &Lease{s: s, key: s.p + "lease:" + name} }

// holdScript: ARGV holder, ttl in ms. Takes the lease when it is free (SET NX PX),
// extends it when ARGV[1] holds it; returns the holder afterwards.
var holdScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return cur
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
  return ARGV[1]
end
return cur
`)

// releaseLeaseScript: ARGV holder. Deletes the lease only if ARGV[1] holds it.
var releaseLeaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Hold implements wes.Lease: one round trip.
func (l *Lease) Hold(ctx context.Context, holder string, ttl time.Duration) (string, error) {
	if holder == "" || ttl < time.Millisecond {
		return "", wes.Errorf(wes.EINVALID, "a lease needs a holder and a time to live of at least 1ms")
	}
	cur, err := holdScript.Run(ctx, l.s.c, []string{l.key}, holder, ttl.Milliseconds()).Text()
	if err != nil {
		return "", storeErr(err, "hold a lease")
	}
	return cur, nil
}

// Release implements wes.Lease.
func (l *Lease) Release(ctx context.Context, holder string) error {
	return storeErr(releaseLeaseScript.Run(ctx, l.s.c, []string{l.key}, holder).Err(), "release a lease")
}
