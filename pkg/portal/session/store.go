package session

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// get reads the record at key; errNoSession when there is none.
func (m *Manager) get(ctx context.Context, key string) (*record, error) {
	b, err := m.deps.Redis.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, errNoSession // not a record this code wrote: treat as absent
	}
	return &rec, nil
}

// put writes rec at key for ttl.
func (m *Manager) put(ctx context.Context, p redis.Cmdable, key string, rec *record, ttl time.Duration) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return p.Set(ctx, key, b, ttl).Err()
}

// errChanged is a record another request changed while this one updated it.
var errChanged = errors.New("the session changed meanwhile")

// update applies change to the record at key if nobody else changes it meanwhile
// (optimistic: on a race it returns errChanged and the caller goes on with what it has;
// a touch or a rotation lost to a concurrent request is harmless, overwriting a rotation
// would revive a replaced id). change returns the writes to make in the transaction.
func (m *Manager) update(ctx context.Context, key string, change func(rec *record, tx redis.Pipeliner) error) error {
	err := m.deps.Redis.Watch(ctx, func(tx *redis.Tx) error {
		rec, err := m.getTx(ctx, tx, key)
		if err != nil {
			return err
		}
		if rec.MovedTo != "" {
			return errChanged
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return change(rec, p) })
		return err
	}, key)
	if errors.Is(err, redis.TxFailedErr) {
		return errChanged
	}
	return err
}

func (m *Manager) getTx(ctx context.Context, tx *redis.Tx, key string) (*record, error) {
	b, err := tx.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, errNoSession
	}
	return &rec, nil
}
