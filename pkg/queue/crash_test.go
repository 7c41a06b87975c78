package queue

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// TestStaleTaskIsReplaced covers the trap of a task id stuck in the archived or
// completed set: enqueueing the step again must replace it, not silently do nothing.
func TestStaleTaskIsReplaced(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		c := newClient(t, opt, queue)
		ins := inspector(t, opt)

		// Archived: a step that gave up earlier.
		if err := c.Start(t.Context(), "run-a"); err != nil {
			t.Fatal(err)
		}
		if err := ins.ArchiveTask(queue, "run:start:run-a"); err != nil {
			t.Fatal(err)
		}
		// Completed: a task kept after success (asynq's Retention), written by another client.
		raw := asynq.NewClient(opt)
		defer raw.Close()
		if _, err := raw.Enqueue(asynq.NewTask(TypeStart, []byte(`{"run_id":"run-c"}`)),
			asynq.TaskID("run:start:run-c"), asynq.Queue(queue), asynq.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		w := startWorker(t, opt, testConfig(t, queue), rec)
		eventually(t, 10*time.Second, "retained task completed", func() bool {
			info, _ := ins.GetTaskInfo(queue, "run:start:run-c")
			return info != nil && info.State == asynq.TaskStateCompleted
		})
		w.Shutdown()

		for _, id := range []string{"run-a", "run-c"} {
			if err := c.Start(t.Context(), id); err != nil {
				t.Fatalf("enqueue over a stale %s task: %v", id, err)
			}
			info, err := ins.GetTaskInfo(queue, TaskID(TypeStart, id))
			if err != nil || info.State != asynq.TaskStatePending {
				t.Errorf("%s after enqueue: %+v, %v; want a pending task", id, info, err)
			}
		}
		rec2 := &recorder{}
		startWorker(t, opt, testConfig(t, queue), rec2)
		eventually(t, 10*time.Second, "both steps ran again", func() bool {
			return rec2.count(TypeStart, "run-a") == 1 && rec2.count(TypeStart, "run-c") == 1
		})
	})
}

// TestShutdownMidStepRequeues stops a worker while a step is running and not
// acknowledged: the step goes back to the queue and another worker runs it.
func TestShutdownMidStepRequeues(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		started := make(chan string, 1)
		cfg := testConfig(t, queue)
		cfg.ShutdownTimeout = 100 * time.Millisecond
		w1 := startWorker(t, opt, cfg, blocker{started: started})
		c := newClient(t, opt, queue)
		if err := c.Start(t.Context(), "run-1"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("first worker did not start the step")
		}
		w1.Shutdown()
		rec := &recorder{}
		startWorker(t, opt, testConfig(t, queue), rec)
		eventually(t, 10*time.Second, "second worker ran the step", func() bool {
			return rec.count(TypeStart, "run-1") == 1
		})
		if got := rec.all()[0]; got.retried != 0 {
			t.Errorf("requeued step ran with retry count %d; a shutdown is not a failure", got.retried)
		}
	})
}

// TestRedeliveryAfterKill kills -9 a worker process in the middle of a step. Its lease
// runs out, and the recoverer of a new worker runs the step again. To keep the test
// short, it moves the dead lease 61 s into the past once the process is dead (what
// waiting would do); TestRedeliveryAfterKillRealTime waits for real.
func TestRedeliveryAfterKill(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opt asynq.RedisClientOpt, queue string) {
		testRedelivery(t, opt, queue, true)
	})
}

// TestRedeliveryAfterKillRealTime is TestRedeliveryAfterKill without help: about a
// minute of waiting for asynq's lease and recoverer.
func TestRedeliveryAfterKillRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: waits about 60 s for asynq's lease to expire; runs without -short")
	}
	t.Parallel()
	opt := backends[0].opt(t)
	testRedelivery(t, opt, useQueue(t, opt), false)
}

func testRedelivery(t *testing.T, opt asynq.RedisClientOpt, queue string, ageLease bool) {
	c := newClient(t, opt, queue)
	if err := c.Start(t.Context(), "run-1"); err != nil {
		t.Fatal(err)
	}
	cmd := startHelper(t, opt, queue)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no requeue, no ack
		t.Fatal(err)
	}
	_ = cmd.Wait()

	rc := redis.NewClient(&redis.Options{Addr: opt.Addr})
	defer rc.Close()
	ctx := t.Context()
	leaseKey := "asynq:{" + queue + "}:lease"
	if _, err := rc.ZScore(ctx, leaseKey, "run:start:run-1").Result(); err != nil {
		t.Fatalf("the killed worker's step holds no lease (%v): it was not running", err)
	}
	if ageLease {
		old := float64(time.Now().Add(-61 * time.Second).Unix())
		if err := rc.ZAddXX(ctx, leaseKey, redis.Z{Score: old, Member: "run:start:run-1"}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	startWorker(t, opt, testConfig(t, queue), rec)
	within := 10 * time.Second
	if !ageLease {
		within = 150 * time.Second
	}
	eventually(t, within, "the step of the killed worker ran again", func() bool {
		return rec.count(TypeStart, "run-1") == 1
	})
	if got := rec.all()[0]; got.retried != 1 {
		t.Errorf("redelivered step saw retry count %d, want 1", got.retried)
	}
	ins := inspector(t, opt)
	eventually(t, 10*time.Second, "redelivered step acknowledged", taskGone(t, ins, queue, "run:start:run-1"))
}

// startHelper starts the helper worker process on queue and returns once it runs the
// start step of run-1 (enqueued by the caller). The test kills it.
func startHelper(t *testing.T, opt asynq.RedisClientOpt, queue string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperAddrEnv+"="+opt.Addr, helperQueueEnv+"="+queue)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "started run-1" {
		t.Fatalf("helper worker said %q, %v; want \"started run-1\"", line, err)
	}
	return cmd
}
