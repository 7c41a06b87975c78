package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Task types, one per run lifecycle step.
const (
	TypeStart    = "run:start"
	TypeCancel   = "run:cancel"
	TypeFinalize = "run:finalize"
)

// DefaultQueue is the asynq queue used when none is named.
const DefaultQueue = "enclave"

const (
	// enqueueMaxRetry is the retry budget written into every task. The Worker enforces
	// its own, smaller WorkerConfig.MaxRetry; this only bounds a task no worker limits.
	enqueueMaxRetry = 100
	// enqueueTimeout is asynq's own deadline for one attempt, an outer bound above
	// WorkerConfig.TaskTimeout (asynq's default of 30 minutes is far too long for a step).
	enqueueTimeout = 15 * time.Minute
)

// payload is the body of every task: the run id and nothing else, so that a step always
// works from the run as stored, never from a stale copy.
type payload struct {
	RunID string `json:"run_id"`
}

// TaskID returns the asynq task id of a step of a run.
func TaskID(taskType, runID string) string { return taskType + ":" + runID }

// Client enqueues run steps. It implements wes.Dispatcher and is safe for concurrent use.
type Client struct {
	rc    redis.UniversalClient
	c     *asynq.Client
	ins   *asynq.Inspector
	queue string
}

var _ wes.Dispatcher = (*Client)(nil)

// NewClient returns a Client that enqueues into queue (DefaultQueue if empty) on the Redis
// that opt names. Close releases its connections.
func NewClient(opt asynq.RedisConnOpt, queue string) *Client {
	if queue == "" {
		queue = DefaultQueue
	}
	rc := opt.MakeRedisClient().(redis.UniversalClient)
	return &Client{
		rc:    rc,
		c:     asynq.NewClientFromRedisClient(rc),
		ins:   asynq.NewInspectorFromRedisClient(rc),
		queue: queue,
	}
}

// Close closes the Client's Redis connections.
func (c *Client) Close() error { return c.rc.Close() }

// Start enqueues the start step of a run.
func (c *Client) Start(ctx context.Context, runID string) error {
	return c.enqueue(ctx, TypeStart, runID)
}

// Cancel enqueues the cancel step of a run.
func (c *Client) Cancel(ctx context.Context, runID string) error {
	return c.enqueue(ctx, TypeCancel, runID)
}

// Finalize enqueues the finalize step of a run.
func (c *Client) Finalize(ctx context.Context, runID string) error {
	return c.enqueue(ctx, TypeFinalize, runID)
}

// enqueue makes sure the step is waiting or running on a live worker. It adds the step
// unless the same step of the run is already waiting or running; when the task that holds
// the step is running on a worker that died (orphaned), it adds the step again under the
// next fresh task id, so the step resumes now instead of after asynq's own recovery.
// EINVALID for an empty run id, EUNAVAILABLE when Redis cannot be reached.
func (c *Client) enqueue(ctx context.Context, typ, runID string) error {
	if runID == "" {
		return wes.Errorf(wes.EINVALID, "a %s step needs a run id", typ)
	}
	body, err := json.Marshal(payload{RunID: runID})
	if err != nil {
		return wes.Internal(err, "the %s task could not be encoded", typ)
	}
	task := asynq.NewTask(typ, body)
	for gen := 0; gen <= maxResumes; gen++ {
		o, err := c.place(ctx, task, resumeID(typ, runID, gen))
		if err != nil {
			return unavailable(err, typ)
		}
		if o != orphaned {
			return nil
		}
	}
	return &wes.Error{Code: wes.EUNAVAILABLE, Message: fmt.Sprintf(
		"the %s step of run %s was taken by %d workers that died; the queue's own recovery will run it", typ, runID, maxResumes+1)}
}

// outcome is what place found.
type outcome int

const (
	placed   outcome = iota // the task is now waiting
	held                    // a task with the id is waiting, retrying or running on a live worker
	orphaned                // a task with the id is running on a worker that died
)

// place enqueues task under id, or reports what holds the id.
func (c *Client) place(ctx context.Context, task *asynq.Task, id string) (outcome, error) {
	var err error
	// Three rounds cover a stale task being replaced while another client does the same.
	for range 3 {
		_, err = c.c.EnqueueContext(ctx, task, asynq.TaskID(id), asynq.Queue(c.queue),
			asynq.MaxRetry(enqueueMaxRetry), asynq.Timeout(enqueueTimeout))
		if err == nil {
			return placed, nil
		}
		if !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
			return 0, err
		}
		info, ierr := c.ins.GetTaskInfo(c.queue, id)
		switch {
		case errors.Is(ierr, asynq.ErrTaskNotFound), errors.Is(ierr, asynq.ErrQueueNotFound):
			continue // it finished in the meantime
		case ierr != nil:
			return 0, ierr
		case info.State == asynq.TaskStateActive:
			dead, err := c.orphaned(ctx, id)
			if err != nil || !dead {
				return held, err
			}
			return orphaned, nil
		case info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted:
			return held, nil
		}
		// Dead (archived) or completed: either would block the id forever.
		if err := c.ins.DeleteTask(c.queue, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return 0, err
		}
	}
	return 0, err
}

func unavailable(err error, typ string) error {
	return &wes.Error{Code: wes.EUNAVAILABLE,
		Message: fmt.Sprintf("the work queue cannot be reached to enqueue %s; try again later", typ), Err: err}
}
