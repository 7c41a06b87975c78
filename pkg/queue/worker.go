package queue

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Handlers run the lifecycle steps of a run. Each must be short and idempotent: it may
// run again after a crash or a retry, and it reads everything it needs from the store.
type Handlers interface {
	Start(ctx context.Context, runID string) error
	Cancel(ctx context.Context, runID string) error
	Finalize(ctx context.Context, runID string) error
}

// WorkerConfig configures a Worker. Zero values take the defaults named.
type WorkerConfig struct {
	// Queue is the asynq queue to take steps from. Default DefaultQueue ("enclave").
	Queue string
	// Concurrency is how many steps run at once. Default 10.
	Concurrency int
	// TaskCheckInterval is how long an idle worker waits before it looks for new steps
	// again. Default 20ms: steps start quickly, at the cost of a cheap Redis call per
	// interval while idle.
	TaskCheckInterval time.Duration
	// ShutdownTimeout is how long Shutdown lets running steps finish before it pushes
	// them back to the queue for another worker. Default 10s.
	ShutdownTimeout time.Duration
	// TaskTimeout bounds one attempt of one step; its context is cancelled after it.
	// Default 2m.
	TaskTimeout time.Duration
	// MaxRetry is how often a failed step is retried before it is archived. Default 10;
	// negative means never; at most 100.
	MaxRetry int
	// RetryBaseDelay is the wait before the first retry; it doubles with every retry up
	// to 30s. Default 1s.
	RetryBaseDelay time.Duration
	// DelayedTaskCheckInterval is how often steps whose retry delay has passed are put
	// back in the queue. Default 1s.
	DelayedTaskCheckInterval time.Duration
	// Logger receives the worker's and asynq's messages. Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c WorkerConfig) withDefaults() WorkerConfig {
	if c.Queue == "" {
		c.Queue = DefaultQueue
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 10
	}
	if c.TaskCheckInterval <= 0 {
		c.TaskCheckInterval = 20 * time.Millisecond
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.TaskTimeout <= 0 {
		c.TaskTimeout = 2 * time.Minute
	}
	switch {
	case c.MaxRetry == 0:
		c.MaxRetry = 10
	case c.MaxRetry < 0:
		c.MaxRetry = 0
	case c.MaxRetry > enqueueMaxRetry:
		c.MaxRetry = enqueueMaxRetry
	}
	if c.RetryBaseDelay <= 0 {
		c.RetryBaseDelay = time.Second
	}
	if c.DelayedTaskCheckInterval <= 0 {
		c.DelayedTaskCheckInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Worker runs queued run steps with a Handlers.
type Worker struct {
	cfg  WorkerConfig
	rc   redis.UniversalClient
	srv  *asynq.Server
	mux  *asynq.ServeMux
	log  *slog.Logger
	id   string // host:pid, the value of the alive keys of its steps (resume.go)
	once sync.Once
}

// NewWorker returns a Worker on the Redis that opt names, running h's steps. Start
// starts it.
func NewWorker(opt asynq.RedisConnOpt, cfg WorkerConfig, h Handlers) *Worker {
	cfg = cfg.withDefaults()
	w := &Worker{
		cfg: cfg,
		rc:  opt.MakeRedisClient().(redis.UniversalClient),
		log: cfg.Logger.With("component", "queue", "queue", cfg.Queue),
		id:  workerID(),
	}
	w.mux = asynq.NewServeMux()
	w.mux.Handle(TypeStart, w.step(TypeStart, h.Start))
	w.mux.Handle(TypeCancel, w.step(TypeCancel, h.Cancel))
	w.mux.Handle(TypeFinalize, w.step(TypeFinalize, h.Finalize))
	w.srv = asynq.NewServerFromRedisClient(w.rc, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   map[string]int{cfg.Queue: 1},
		TaskCheckInterval:        cfg.TaskCheckInterval,
		DelayedTaskCheckInterval: cfg.DelayedTaskCheckInterval,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		RetryDelayFunc:           retryDelay(cfg.RetryBaseDelay),
		ErrorHandler:             asynq.ErrorHandlerFunc(w.logFailure),
		HealthCheckFunc:          w.healthCheck,
		Logger:                   asynqLogger{w.log},
		// asynq logs every empty poll at debug level, 50 times a second by default.
		LogLevel: asynq.InfoLevel,
	})
	return w
}

// Start checks that Redis answers and starts taking steps off the queue. EUNAVAILABLE
// when Redis cannot be reached.
func (w *Worker) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.rc.Ping(ctx).Err(); err != nil {
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the work queue cannot be reached", Err: err}
	}
	if err := w.srv.Start(w.mux); err != nil {
		return wes.Internal(err, "the queue worker could not start")
	}
	return nil
}

// Shutdown stops taking new steps, waits up to ShutdownTimeout for running ones, pushes
// the rest back to the queue, and closes the Redis connections. It is safe to call more
// than once, and without Start.
func (w *Worker) Shutdown() {
	w.once.Do(func() {
		// Order: asynq first (it needs Redis to requeue unfinished steps), then the
		// connection pool it shares with us.
		w.srv.Shutdown()
		_ = w.rc.Close()
	})
}

// workerID names this process in the alive keys of its steps, for an operator looking.
func workerID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

func (w *Worker) healthCheck(err error) {
	if err != nil {
		w.log.Warn("the work queue's Redis does not answer", "err", err)
	}
}
