package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A step taken by a worker that then dies (kill -9, OOM, power loss) stays "active" in
// asynq until its lease runs out (30 s after the last renewal) and a recoverer, which
// looks once a minute for leases expired 30 s ago, puts it back: 60 to 120 s. The Client
// sees such a step sooner: when asked to enqueue a step whose task is active, it checks
// that a live worker holds it, and otherwise enqueues the step again under a fresh task
// id. A task is held by a live worker while either of these holds:
//
//   - the worker's alive key for the task exists: the Worker sets it, with a TTL of
//     aliveTTL, before it runs a step and renews it every aliveEvery until the step
//     returns. Redis expires it, so this needs no clock agreement between machines;
//   - asynq's lease of the task was renewed less than leaseStale ago (asynq renews it
//     every 5 s). This covers the moment between asynq taking the task off the queue and
//     the Worker setting the key; it compares clocks, which must agree within a few
//     seconds.
//
// So a dead worker's step is resumed about leaseStale after the death. The fresh ids are
// "<type>:<run id>:resume-<n>", n counting up from 1: every client that finds the same
// orphaned task tries the same next id, and asynq takes only the first, so two
// reconcilers resume a step once. The orphaned task itself is recovered by asynq later
// and runs again; the steps are idempotent.
const (
	aliveTTL   = 10 * time.Second
	aliveEvery = 3 * time.Second
	leaseStale = 10 * time.Second
	// asynqLease is asynq's lease duration (internal/rdb.LeaseDuration): a lease expiring
	// at t was renewed at t - asynqLease.
	asynqLease = 30 * time.Second
	// maxResumes bounds the fresh tasks of one step whose workers all died; past it, the
	// step waits for asynq's recovery.
	maxResumes = 5
)

// resumeID is the task id of the gen-th resumption of a step (0: the step's own id).
func resumeID(typ, runID string, gen int) string {
	if gen == 0 {
		return TaskID(typ, runID)
	}
	return fmt.Sprintf("%s:resume-%d", TaskID(typ, runID), gen)
}

// aliveKey is the key a worker keeps while it runs the task with the given id. The queue
// name is the hash tag, as in asynq's own keys, so they share a Redis Cluster slot.
func aliveKey(queue, taskID string) string { return "enclave:queue:{" + queue + "}:alive:" + taskID }

// leaseKey is asynq's sorted set of task leases of a queue (internal/base.LeaseKey).
func leaseKey(queue string) string { return "asynq:{" + queue + "}:lease" }

// orphaned reports whether the active task with the given id belongs to a worker that
// died: no alive key, and a lease not renewed for leaseStale. One round trip.
func (c *Client) orphaned(ctx context.Context, id string) (bool, error) {
	var alive *redis.IntCmd
	var lease *redis.FloatCmd
	_, err := c.rc.Pipelined(ctx, func(p redis.Pipeliner) error {
		alive = p.Exists(ctx, aliveKey(c.queue, id))
		lease = p.ZScore(ctx, leaseKey(c.queue), id)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	if alive.Val() > 0 {
		return false, nil
	}
	expires, err := lease.Result()
	if errors.Is(err, redis.Nil) {
		return false, nil // no lease: it is leaving the active state
	}
	if err != nil {
		return false, err
	}
	renewed := time.Unix(int64(expires), 0).Add(-asynqLease)
	return time.Since(renewed) > leaseStale, nil
}

// keepAlive sets the alive key of a task the worker runs and renews it until the returned
// function is called; the key is then deleted in the background. The step must not wait
// for that: until it returns, asynq does not acknowledge the task, and an enqueue of the
// same step meanwhile finds it still running and does nothing.
func (w *Worker) keepAlive(taskID string) func() {
	if taskID == "" {
		return func() {}
	}
	key := aliveKey(w.cfg.Queue, taskID)
	ctx, cancel := context.WithCancel(context.Background())
	set := func() {
		sctx, done := context.WithTimeout(ctx, aliveEvery)
		defer done()
		if err := w.rc.Set(sctx, key, w.id, aliveTTL).Err(); err != nil && ctx.Err() == nil {
			w.log.Warn("cannot mark a running step alive; another worker may resume it", "task_id", taskID, "err", err)
		}
	}
	set()
	go func() {
		t := time.NewTicker(aliveEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				dctx, done := context.WithTimeout(context.Background(), aliveEvery)
				defer done()
				_ = w.rc.Del(dctx, key).Err() // it expires anyway
				return
			case <-t.C:
				set()
			}
		}
	}()
	return cancel
}
