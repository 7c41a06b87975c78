package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/hibiken/asynq"

	"github.com/spe4hd/enclave/pkg/wes"
)

// maxRetryDelay caps the backoff between retries of a step.
const maxRetryDelay = 30 * time.Second

// step adapts a Handlers method to asynq: it decodes the run id, bounds the attempt by
// TaskTimeout, turns a panic into an error, and decides whether a failure is final.
func (w *Worker) step(typ string, fn func(context.Context, string) error) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var p payload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.RunID == "" {
			// A task we cannot read will never become readable: do not retry it.
			return fmt.Errorf("%s task has no valid run id (%v): %w", typ, err, asynq.SkipRetry)
		}
		retried, _ := asynq.GetRetryCount(ctx)
		if retried > w.cfg.MaxRetry {
			// Back after a crash with its retries used up (the budget in the task itself
			// is larger than ours).
			return fmt.Errorf("%s of run %s gave up after %d retries: %w", typ, p.RunID, retried, asynq.SkipRetry)
		}
		// While it runs, the step's alive key tells clients it has a live worker; without
		// it (the worker died), they resume the step under a fresh task id (resume.go).
		taskID, _ := asynq.GetTaskID(ctx)
		defer w.keepAlive(taskID)()
		ctx, cancel := context.WithTimeout(ctx, w.cfg.TaskTimeout)
		defer cancel()
		start := time.Now()
		err := w.call(ctx, typ, p.RunID, fn)
		switch {
		case err == nil:
			w.log.Debug("step done", "task", typ, "run_id", p.RunID, "retried", retried, "took", time.Since(start))
			return nil
		case wes.IsCode(err, wes.EINVALID) || wes.IsCode(err, wes.ENOTFOUND):
			// The run cannot take this step (gone, or in a state that refuses it):
			// trying again cannot help.
			return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
		case retried >= w.cfg.MaxRetry:
			return fmt.Errorf("%w (after %d retries: %w)", err, retried, asynq.SkipRetry)
		}
		return err
	})
}

// call runs fn and turns a panic into an error, logged with its stack, so that one bad
// step neither crashes the worker nor loses the task.
func (w *Worker) call(ctx context.Context, typ, runID string, fn func(context.Context, string) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("step panicked", "task", typ, "run_id", runID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("%s step of run %s panicked: %v", typ, runID, r)
		}
	}()
	return fn(ctx, runID)
}

// logFailure logs every failed attempt: a warning when it will be retried, an error when
// the step is given up and archived.
func (w *Worker) logFailure(ctx context.Context, t *asynq.Task, err error) {
	var p payload
	_ = json.Unmarshal(t.Payload(), &p)
	retried, _ := asynq.GetRetryCount(ctx)
	attrs := []any{"task", t.Type(), "run_id", p.RunID, "retried", retried, "err", err}
	if errors.Is(err, asynq.SkipRetry) {
		w.log.Error("step failed; not retrying", attrs...)
		return
	}
	w.log.Warn("step failed; will retry", attrs...)
}

// retryDelay returns asynq's delay function: base doubled per retry, plus up to a
// quarter of jitter so that steps failing together do not retry together, capped at
// maxRetryDelay.
func retryDelay(base time.Duration) asynq.RetryDelayFunc {
	return func(n int, _ error, _ *asynq.Task) time.Duration {
		d := base
		for i := 0; i < n && d < maxRetryDelay; i++ {
			d *= 2
		}
		d += rand.N(d/4 + 1)
		return min(d, maxRetryDelay)
	}
}
