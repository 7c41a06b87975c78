package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// maxAttempts bounds the optimistic-transaction retries of one Create or Update. Writers
// to one run are few (the API and a worker step), so running out means something is
// hammering the run; the caller gets EUNAVAILABLE and may try again.
const maxAttempts = 100

// Update applies fn to the current run and stores the result atomically: it watches the
// run's key, reads the run, calls fn, checks the state change with ValidateTransition and
// writes the run together with its counts, active-set membership and pending-effects
// membership (Run.Effects not empty) in one MULTI/EXEC.
// When another writer changed the run in between, it starts over with the new run, so fn
// may be called more than once and must only change the run it is given.
//
// Update bumps Version and sets UpdatedAt. The id, owner and creation time cannot be
// changed (EINVALID). fn's error aborts the update and is returned as is; an invalid state
// change returns ValidateTransition's error. ENOTFOUND if there is no such run.
func (s *Store) Update(ctx context.Context, id string, fn func(*wes.Run) error) (*wes.Run, error) {
	key := s.runKey(id)
	var result *wes.Run
	txf := func(tx *redis.Tx) error {
		data, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		old, err := decode(data)
		if err != nil {
			return err
		}
		cur, err := decode(data) // a separate copy for fn, compared against old below
		if err != nil {
			return err
		}
		if err := fn(cur); err != nil {
			return err
		}
		if cur.ID != old.ID || cur.Owner != old.Owner || !cur.CreatedAt.Equal(old.CreatedAt) {
			return wes.Errorf(wes.EINVALID, "the id, owner and creation time of run %s cannot change", id)
		}
		if err := wes.ValidateTransition(old.State, cur.State); err != nil {
			return err
		}
		cur.Version = old.Version + 1
		cur.UpdatedAt = s.now()
		out, err := json.Marshal(cur)
		if err != nil {
			return wes.Internal(err, "the run could not be encoded")
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, out, 0)
			s.moveState(ctx, p, cur, old.State)
			s.markEffects(ctx, p, cur, len(old.Effects) > 0)
			s.markReview(ctx, p, cur, old.ReviewPending())
			return nil
		})
		if err == nil {
			result = cur
		}
		return err
	}
	for attempt := range maxAttempts {
		err := s.c.Watch(ctx, txf, key)
		if err == nil {
			return result, nil
		}
		if !errors.Is(err, redis.TxFailedErr) {
			return nil, storeErr(err, "update a run")
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, storeErr(err, "update a run")
		}
	}
	return nil, &wes.Error{Code: wes.EUNAVAILABLE,
		Message: "run " + id + " is being changed by too many writers at once; try again"}
}

// moveState queues the count and active-set changes of a run going from one state to
// r.State. A run keeps its state when from == r.State, and nothing moves.
func (s *Store) moveState(ctx context.Context, p redis.Pipeliner, r *wes.Run, from wes.State) {
	if from == r.State {
		return
	}
	for _, k := range []string{s.countsKey(""), s.countsKey(r.Owner)} {
		p.HIncrBy(ctx, k, string(from), -1)
		p.HIncrBy(ctx, k, string(r.State), 1)
	}
	p.ZRem(ctx, s.stateKey(from), r.ID)
	p.ZAdd(ctx, s.stateKey(r.State), redis.Z{Member: r.ID})
	switch {
	case r.State.Terminal():
		p.SRem(ctx, s.activeKey(), r.ID)
	default:
		// Only terminal states leave the set, and they are sticky: adding is a no-op
		// for a run that is already active.
		p.SAdd(ctx, s.activeKey(), r.ID)
	}
}

// markEffects queues the change of r's membership in the set of runs with pending side
// effects, in the same transaction as the run itself, so the set never misses a run
// whose outbox holds something. had says whether the stored run had effects before.
func (s *Store) markEffects(ctx context.Context, p redis.Pipeliner, r *wes.Run, had bool) {
	switch has := len(r.Effects) > 0; {
	case has && !had:
		p.SAdd(ctx, s.effectsKey(), r.ID)
	case !has && had:
		p.SRem(ctx, s.effectsKey(), r.ID)
	}
}

// markReview queues the change of r's membership in the review index, in the same
// transaction as the run: it holds exactly the runs with outputs waiting for review.
func (s *Store) markReview(ctx context.Context, p redis.Pipeliner, r *wes.Run, had bool) {
	switch has := r.ReviewPending(); {
	case has && !had:
		p.ZAdd(ctx, s.reviewKey(), redis.Z{Member: r.ID})
	case !has && had:
		p.ZRem(ctx, s.reviewKey(), r.ID)
	}
}

// backoff waits a short, growing, jittered time before the next optimistic attempt, so
// that writers contending for one run spread out instead of colliding again.
func backoff(ctx context.Context, attempt int) error {
	maxWait := time.Duration(attempt+1) * time.Millisecond
	if maxWait > 20*time.Millisecond {
		maxWait = 20 * time.Millisecond
	}
	t := time.NewTimer(rand.N(maxWait) + time.Millisecond/10)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
