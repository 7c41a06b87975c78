package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "enclave:"

// Options configure a Store.
type Options struct {
	// Prefix starts every key the store writes. Default "enclave:". Use a prefix with a
	// hash tag ("{enclave}:") on Redis Cluster.
	Prefix string
}

// Store is a wes.RunStore on Redis. It is safe for concurrent use, also by many
// processes sharing one Redis.
type Store struct {
	c   redis.UniversalClient
	p   string
	now func() time.Time
}

var _ wes.RunStore = (*Store)(nil)

// New returns a Store on c. The caller keeps ownership of c and closes it.
func New(c redis.UniversalClient, o Options) *Store {
	p := o.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return &Store{c: c, p: p, now: func() time.Time { return time.Now().UTC() }}
}

func (s *Store) runKey(id string) string { return s.p + "run:" + id }
func (s *Store) activeKey() string       { return s.p + "active" }
func (s *Store) effectsKey() string      { return s.p + "effects" }

// indexKey is the sorted set of run ids, of one owner or (owner "") of all runs.
func (s *Store) indexKey(owner string) string {
	if owner == "" {
		return s.p + "runs"
	}
	return s.p + "runs:owner:" + owner
}

// stateKey, workflowKey and reviewKey are the sorted sets (score 0, ordered by id) of
// the runs in one state, of one catalogue workflow, and with outputs waiting for
// review: the indexes a filtered List walks instead of every run.
func (s *Store) stateKey(st wes.State) string { return s.p + "runs:state:" + string(st) }
func (s *Store) workflowKey(wf string) string { return s.p + "runs:workflow:" + wf }
func (s *Store) reviewKey() string            { return s.p + "runs:review" }

// countsKey is the state-count hash, of one owner or (owner "") of all runs.
func (s *Store) countsKey(owner string) string {
	if owner == "" {
		return s.p + "counts"
	}
	return s.p + "counts:owner:" + owner
}

// Ping checks that Redis answers. EUNAVAILABLE when it does not.
func (s *Store) Ping(ctx context.Context) error {
	return storeErr(s.c.Ping(ctx).Err(), "ping Redis")
}

// Create stores a new run. It fills in Version (1), CreatedAt (now, if zero) and
// UpdatedAt on r. EINVALID for an empty id or owner or an unknown state, ECONFLICT if
// the id exists.
func (s *Store) Create(ctx context.Context, r *wes.Run) error {
	if r == nil || r.ID == "" {
		return wes.Errorf(wes.EINVALID, "a run needs an id")
	}
	if r.Owner == "" {
		// Owner "" names the global indexes and counts, so an owner is required.
		return wes.Errorf(wes.EINVALID, "run %s needs an owner", r.ID)
	}
	if !r.State.Valid() {
		return wes.Errorf(wes.EINVALID, "run state %q is not a WES state", r.State)
	}
	now := s.now()
	stored := *r
	stored.Version = 1
	if stored.CreatedAt.IsZero() {
		stored.CreatedAt = now
	}
	stored.UpdatedAt = now
	data, err := json.Marshal(&stored)
	if err != nil {
		return wes.Internal(err, "the run could not be encoded")
	}
	key := s.runKey(r.ID)
	for range maxAttempts {
		err = s.c.Watch(ctx, func(tx *redis.Tx) error {
			n, err := tx.Exists(ctx, key).Result()
			if err != nil {
				return err
			}
			if n > 0 {
				return wes.Errorf(wes.ECONFLICT, "a run with id %s already exists", r.ID)
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, data, 0)
				s.index(ctx, p, &stored)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			break
		}
	}
	if err != nil {
		return storeErr(err, "create a run")
	}
	*r = stored
	return nil
}

// index queues the writes that add a new run to the id indexes, the counts, the active
// set and (with effects) the set of runs with pending effects.
func (s *Store) index(ctx context.Context, p redis.Pipeliner, r *wes.Run) {
	z := redis.Z{Score: 0, Member: r.ID}
	p.ZAdd(ctx, s.indexKey(""), z)
	p.ZAdd(ctx, s.indexKey(r.Owner), z)
	p.HIncrBy(ctx, s.countsKey(""), string(r.State), 1)
	p.HIncrBy(ctx, s.countsKey(r.Owner), string(r.State), 1)
	if !r.State.Terminal() {
		p.SAdd(ctx, s.activeKey(), r.ID)
	}
	p.ZAdd(ctx, s.stateKey(r.State), z)
	if r.Workflow != "" {
		p.ZAdd(ctx, s.workflowKey(r.Workflow), z)
	}
	s.markEffects(ctx, p, r, false)
	s.markReview(ctx, p, r, false)
}

// Get returns the run with the given id. ENOTFOUND if there is none.
func (s *Store) Get(ctx context.Context, id string) (*wes.Run, error) {
	data, err := s.c.Get(ctx, s.runKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, storeErr(err, "read a run")
	}
	return decode(data)
}

func notFound(id string) error {
	return wes.Errorf(wes.ENOTFOUND, "run %s was not found", id)
}

func decode(data []byte) (*wes.Run, error) {
	var r wes.Run
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, wes.Internal(err, "a stored run could not be decoded")
	}
	return &r, nil
}
