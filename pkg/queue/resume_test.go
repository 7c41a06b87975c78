package queue

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// TestResumeAfterKill kills -9 a worker in the middle of a step. While it lives, and
// right after it died (its alive key and lease are still fresh), asking for the step
// again adds nothing. Once the step is known orphaned, two clients asking at once (two
// reconcilers) resume it under one fresh task id, which another worker runs long before
// asynq's own recovery would hand back the original task; asking again while the resumed
// step runs adds nothing.
func TestResumeAfterKill(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		ctx := t.Context()
		a, b := newClient(t, opt, queue), newClient(t, opt, queue)
		ins := inspector(t, opt)
		if err := a.Start(ctx, "run-1"); err != nil {
			t.Fatal(err)
		}
		cmd := startHelper(t, opt, queue)
		onlyTheStep := func(when string) {
			t.Helper()
			if err := a.Start(ctx, "run-1"); err != nil {
				t.Fatal(err)
			}
			if info, err := ins.GetTaskInfo(queue, "run:start:run-1"); err != nil || info.State != asynq.TaskStateActive {
				t.Fatalf("%s: the step's task is %+v, %v; want it active", when, info, err)
			}
			if _, err := ins.GetTaskInfo(queue, "run:start:run-1:resume-1"); err == nil {
				t.Fatalf("%s: the step was resumed", when)
			}
		}
		onlyTheStep("while its worker lives")
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		killed := time.Now()
		onlyTheStep("right after its worker died")

		release := make(chan struct{})
		rec := &recorder{behave: func(call, int) error { <-release; return nil }}
		startWorker(t, opt, testConfig(t, queue), rec)
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		both := func() {
			var wg sync.WaitGroup
			for _, c := range []*Client{a, b} {
				wg.Go(func() {
					if err := c.Start(context.Background(), "run-1"); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		eventually(t, 50*time.Second, "the step resumed on the live worker", func() bool {
			both()
			return rec.count(TypeStart, "run-1") > 0
		})
		t.Logf("resumed %v after the kill", time.Since(killed).Round(time.Millisecond))
		for range 5 {
			both()
		}
		calls := rec.all()
		if len(calls) != 1 || calls[0].taskID != "run:start:run-1:resume-1" {
			t.Fatalf("calls %+v, want one, of task run:start:run-1:resume-1", calls)
		}
		if info, err := ins.GetTaskInfo(queue, "run:start:run-1"); err != nil || info.State != asynq.TaskStateActive {
			t.Errorf("the orphaned task is %+v, %v; want it left to asynq's recovery", info, err)
		}
		if pending, err := ins.ListPendingTasks(queue); err != nil || len(pending) != 0 {
			t.Errorf("pending tasks %v, %v; want none while the resumed step runs", pending, err)
		}
		once.Do(func() { close(release) })
		eventually(t, 10*time.Second, "resumed step acknowledged", taskGone(t, ins, queue, "run:start:run-1:resume-1"))
	})
}

// TestAliveKey checks the key a worker keeps while it runs a step: there while the step
// runs, gone when it returns.
func TestAliveKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		release := make(chan struct{})
		started := make(chan string, 1)
		rec := &recorder{behave: func(c call, _ int) error { started <- c.taskID; <-release; return nil }}
		w := startWorker(t, opt, testConfig(t, queue), rec)
		c := newClient(t, opt, queue)
		if err := c.Finalize(t.Context(), "run-1"); err != nil {
			t.Fatal(err)
		}
		var id string
		select {
		case id = <-started:
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatal("the step did not start")
		}
		key := aliveKey(queue, id)
		ttl, err := w.rc.PTTL(t.Context(), key).Result()
		if err != nil || ttl <= 0 || ttl > aliveTTL {
			t.Errorf("alive key %s: TTL %v, %v; want it set with a TTL up to %v", key, ttl, err, aliveTTL)
		}
		close(release)
		eventually(t, 10*time.Second, "the alive key removed", func() bool {
			return w.rc.Exists(context.Background(), key).Val() == 0
		})
	})
}

// TestOrphanNeedsBothSigns runs a step on a live worker and takes away one sign of life
// at a time: a stale lease alone (a worker whose clock is behind) or a missing alive key
// alone (asynq has just handed the task over) does not resume the step; both do.
func TestOrphanNeedsBothSigns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		ctx := t.Context()
		release := make(chan struct{})
		started := make(chan string, 2)
		rec := &recorder{behave: func(c call, _ int) error { started <- c.taskID; <-release; return nil }}
		w := startWorker(t, opt, testConfig(t, queue), rec)
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		c := newClient(t, opt, queue)
		ins := inspector(t, opt)
		if err := c.Start(ctx, "run-1"); err != nil {
			t.Fatal(err)
		}
		var id string
		select {
		case id = <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the step did not start")
		}
		setLease := func(renewed time.Time) {
			t.Helper()
			score := float64(renewed.Add(asynqLease).Unix())
			if err := w.rc.ZAddXX(ctx, leaseKey(queue), redis.Z{Score: score, Member: id}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		notResumed := func(when string) {
			t.Helper()
			if err := c.Start(ctx, "run-1"); err != nil {
				t.Fatal(err)
			}
			if _, err := ins.GetTaskInfo(queue, "run:start:run-1:resume-1"); err == nil {
				t.Fatalf("%s: the step was resumed", when)
			}
		}
		setLease(time.Now().Add(-time.Minute))
		notResumed("with a stale lease and the alive key")
		setLease(time.Now())
		w.rc.Del(ctx, aliveKey(queue, id))
		notResumed("with a fresh lease and no alive key")
		// The live worker renews both signs every few seconds: one of its renewals may fall
		// between taking them away and asking, so ask a few times.
		eventually(t, 10*time.Second, "the step resumed with a stale lease and no alive key", func() bool {
			setLease(time.Now().Add(-time.Minute))
			w.rc.Del(ctx, aliveKey(queue, id))
			if err := c.Start(ctx, "run-1"); err != nil {
				t.Fatal(err)
			}
			_, err := ins.GetTaskInfo(queue, "run:start:run-1:resume-1")
			return err == nil
		})
	})
}
