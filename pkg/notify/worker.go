package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Worker delivers queued notifications. A failed delivery is retried after RetryBase,
// doubling up to RetryMax, MaxRetry times; then it is dead-lettered: archived by asynq
// (an admin can inspect or re-run it there), logged as an error, and counted in Redis
// (Notifier.DeadLetters), each task once.
type Worker struct {
	cfg   Config
	rc    redis.UniversalClient
	srv   *asynq.Server
	http  *http.Client
	hooks map[string]Webhook
	log   *slog.Logger
	now   func() time.Time
	once  sync.Once
}

// NewWorker checks cfg and returns a Worker on the Redis that opt names; Start starts it.
func NewWorker(opt asynq.RedisConnOpt, cfg Config) (*Worker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	w := &Worker{cfg: cfg, rc: opt.MakeRedisClient().(redis.UniversalClient), http: newHTTPClient(cfg.Timeout),
		hooks: map[string]Webhook{}, log: cfg.Logger.With("component", "notify"), now: time.Now}
	for _, h := range cfg.Webhooks {
		w.hooks[h.id()] = h
	}
	w.srv = asynq.NewServerFromRedisClient(w.rc, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   map[string]int{cfg.Queue: 1},
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.PollInterval,
		ShutdownTimeout:          cfg.Timeout + time.Second,
		RetryDelayFunc:           backoff(cfg.RetryBase, cfg.RetryMax),
		Logger:                   asynqLogger{w.log},
		LogLevel:                 asynq.WarnLevel,
	})
	return w, nil
}

// Start starts taking deliveries off the queue.
func (w *Worker) Start() error {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeWebhook, w.handle(w.webhook))
	mux.HandleFunc(TypeMail, w.handle(w.mail))
	return w.srv.Start(mux)
}

// Shutdown stops the worker (deliveries in flight get Timeout to end, the rest go back
// to the queue) and closes its connections. Safe to call more than once.
func (w *Worker) Shutdown() {
	w.once.Do(func() {
		w.srv.Shutdown()
		_ = w.rc.Close()
	})
}

// handle runs one delivery attempt and dead-letters the task after its last one.
func (w *Worker) handle(fn func(context.Context, *asynq.Task) (string, error)) func(context.Context, *asynq.Task) error {
	return func(ctx context.Context, t *asynq.Task) error {
		ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
		defer cancel()
		target, err := fn(ctx, t)
		id, _ := asynq.GetTaskID(ctx)
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		if err == nil {
			w.log.Debug("notification delivered", "task", t.Type(), "delivery", id, "target", target, "retried", retried)
			return nil
		}
		if !errors.Is(err, asynq.SkipRetry) && retried < maxRetry {
			w.log.Warn("a notification was not delivered; will retry", "task", t.Type(), "delivery", id,
				"target", target, "retried", retried, "err", err)
			return err
		}
		w.deadLetter(ctx, t, id, target, retried, err)
		return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
	}
}

// deadLetter counts the task once (a marker per task id, kept as long as asynq keeps its
// id) and logs it.
func (w *Worker) deadLetter(ctx context.Context, t *asynq.Task, id, target string, retried int, cause error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var total int64
	first, err := w.rc.SetNX(cctx, w.cfg.KeyPrefix+"notify:dead:"+id, 1, 7*dedupWindow).Result()
	if err == nil && first {
		total, err = w.rc.Incr(cctx, deadKey(w.cfg.KeyPrefix)).Result()
	}
	if err != nil {
		w.log.Error("a dead-lettered notification could not be counted", "delivery", id, "err", err)
	}
	w.log.Error("a notification was given up after its last retry (dead-lettered)", "task", t.Type(),
		"delivery", id, "target", target, "retried", retried, "dead_letters", total, "err", cause)
}

// webhook delivers one webhook task. The target it returns is the webhook's id, never
// its URL.
func (w *Worker) webhook(ctx context.Context, t *asynq.Task) (string, error) {
	var p webhookTask
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return "", fmt.Errorf("unreadable webhook task: %w", asynq.SkipRetry)
	}
	h, ok := w.hooks[p.Hook]
	if !ok {
		// Removed from the configuration since it was queued: nobody to send it to.
		return p.Hook, fmt.Errorf("webhook %s is no longer configured: %w", p.Hook, asynq.SkipRetry)
	}
	if err := CheckURL(h.URL, w.cfg.AllowHTTPLoopback); err != nil {
		return p.Hook, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	id, _ := asynq.GetTaskID(ctx)
	return p.Hook, post(ctx, w.http, h, id, p.Body, w.now())
}

// mail delivers one mail task. Its target is a hash of the address.
func (w *Worker) mail(ctx context.Context, t *asynq.Task) (string, error) {
	var m Message
	if err := json.Unmarshal(t.Payload(), &m); err != nil {
		return "", fmt.Errorf("unreadable mail task: %w", asynq.SkipRetry)
	}
	target := "mail:" + addrID(m.To)
	if w.cfg.SMTP == nil {
		return target, fmt.Errorf("no SMTP server is configured: %w", asynq.SkipRetry)
	}
	return target, send(ctx, w.cfg.SMTP, m, w.cfg.Timeout, w.now())
}

// backoff is asynq's retry delay: base doubled per retry up to max, plus up to a quarter
// of jitter so that deliveries failing together do not retry together.
func backoff(base, maxWait time.Duration) asynq.RetryDelayFunc {
	return func(n int, _ error, _ *asynq.Task) time.Duration {
		d := base
		for i := 0; i < n && d < maxWait; i++ {
			d *= 2
		}
		d = min(d, maxWait)
		return d + rand.N(d/4+1)
	}
}

// asynqLogger adapts slog to asynq's Logger.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "source", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "source", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "source", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "source", "asynq") }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...), "source", "asynq") }
