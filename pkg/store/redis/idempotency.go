package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

var _ wes.IdempotencyStore = (*Store)(nil)

// idemKey hashes owner and key, so neither a subject nor a client's key (up to 255
// bytes) becomes part of a Redis key as it is.
func (s *Store) idemKey(owner, key string) string {
	o := sha256.Sum256([]byte(owner))
	k := sha256.Sum256([]byte(key))
	return s.p + "idem:" + hex.EncodeToString(o[:12]) + ":" + hex.EncodeToString(k[:16])
}

// encodeClaim is "pending|hash|run" or "done|hash|run"; hashes and run ids hold no '|'.
func encodeClaim(c wes.IdemClaim) string {
	st := "done"
	if c.Pending {
		st = "pending"
	}
	return st + "|" + c.Hash + "|" + c.RunID
}

func decodeClaim(v string) (*wes.IdemClaim, error) {
	f := strings.Split(v, "|")
	if len(f) != 3 || (f[0] != "done" && f[0] != "pending") {
		return nil, wes.Internal(errors.New("malformed idempotency record"), "")
	}
	return &wes.IdemClaim{Pending: f[0] == "pending", Hash: f[1], RunID: f[2]}, nil
}

// Reserve claims the key with SET NX, so of two concurrent requests only one wins.
func (s *Store) Reserve(ctx context.Context, owner, key string, c wes.IdemClaim, pendingTTL time.Duration) (*wes.IdemClaim, error) {
	c.Pending = true
	k := s.idemKey(owner, key)
	// Twice: the claim seen taken may expire before it is read.
	for range 2 {
		ok, err := s.c.SetNX(ctx, k, encodeClaim(c), pendingTTL).Result()
		if err != nil {
			return nil, storeErr(err, "reserve an idempotency key")
		}
		if ok {
			return nil, nil
		}
		v, err := s.c.Get(ctx, k).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, storeErr(err, "read an idempotency key")
		}
		return decodeClaim(v)
	}
	return nil, wes.Errorf(wes.EUNAVAILABLE, "an idempotency key changed while it was being reserved; retry")
}

// swapClaim replaces (or with ARGV[2] "" deletes) the value at KEYS[1] only while it is
// still ARGV[1]: the pending claim this request made.
var swapClaim = redis.NewScript(`
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == "" then return redis.call("DEL", KEYS[1]) end
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
return 1`)

// Complete turns this request's pending claim into a done one for window.
func (s *Store) Complete(ctx context.Context, owner, key string, c wes.IdemClaim, window time.Duration) error {
	c.Pending = true
	pending := encodeClaim(c)
	c.Pending = false
	err := swapClaim.Run(ctx, s.c, []string{s.idemKey(owner, key)}, pending, encodeClaim(c), window.Milliseconds()).Err()
	return storeErr(err, "complete an idempotency key")
}

// Release deletes the pending claim for runID.
func (s *Store) Release(ctx context.Context, owner, key, runID string) error {
	k := s.idemKey(owner, key)
	v, err := s.c.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return storeErr(err, "read an idempotency key")
	}
	c, err := decodeClaim(v)
	if err != nil || !c.Pending || c.RunID != runID {
		return err
	}
	return storeErr(swapClaim.Run(ctx, s.c, []string{k}, v, "", 0).Err(), "release an idempotency key")
}
