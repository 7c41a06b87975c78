package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Task types of deliveries.
const (
	TypeWebhook = "notify:webhook"
	TypeMail    = "notify:mail"
)

// dedupWindow is how long a delivered task's id is kept, so that the same notice sent
// again (a step that died after queueing it, two doers of one outbox effect) is not
// delivered twice within it. Later repeats reach the receiver with the same event id.
const dedupWindow = 24 * time.Hour

// webhookTask is a webhook delivery as queued: the webhook's id (its secret and URL are
// read from the configuration at delivery, never stored in Redis) and the exact body.
type webhookTask struct {
	Hook string          `json:"hook"`
	Body json.RawMessage `json:"body"`
}

// Notifier queues one delivery per webhook and mail recipient of each notice. It
// implements wes.Notifier and is safe for concurrent use.
type Notifier struct {
	cfg Config
	rc  redis.UniversalClient
	c   *asynq.Client
}

var _ wes.Notifier = (*Notifier)(nil)

// New checks cfg and returns a Notifier queueing on the Redis that opt names. Close
// releases its connections.
func New(opt asynq.RedisConnOpt, cfg Config) (*Notifier, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	rc := opt.MakeRedisClient().(redis.UniversalClient)
	return &Notifier{cfg: cfg, rc: rc, c: asynq.NewClientFromRedisClient(rc)}, nil
}

// Close closes the Notifier's Redis connections.
func (n *Notifier) Close() error { return n.rc.Close() }

// Enabled reports whether anyone is notified at all.
func (n *Notifier) Enabled() bool { return len(n.cfg.Webhooks) > 0 || n.cfg.SMTP != nil }

// Notify queues the deliveries of no. A delivery already queued for the same notice and
// recipient (by task id) is not queued again.
func (n *Notifier) Notify(ctx context.Context, no wes.Notice) error {
	if no.ID == "" || no.RunID == "" {
		return wes.Errorf(wes.EINVALID, "a notice needs an id and a run id")
	}
	var body []byte
	for _, w := range n.cfg.Webhooks {
		if !w.wants(no.Kind) {
			continue
		}
		if body == nil {
			var err error
			if body, err = Event(no, n.cfg.Source, n.cfg.IncludeOwner).body(); err != nil {
				return wes.Internal(err, "the event could not be encoded")
			}
		}
		p, _ := json.Marshal(webhookTask{Hook: w.id(), Body: body})
		if err := n.enqueue(ctx, TypeWebhook, no.ID+"/"+w.id(), p); err != nil {
			return err
		}
	}
	if n.cfg.SMTP == nil {
		return nil
	}
	for _, to := range recipients(no, n.cfg.Reviewers) {
		if !validAddress(to) {
			continue // an address from a token that is not one plain address
		}
		p, _ := json.Marshal(mailFor(no, to))
		if err := n.enqueue(ctx, TypeMail, no.ID+"/"+addrID(to), p); err != nil {
			return err
		}
	}
	return nil
}

func (n *Notifier) enqueue(ctx context.Context, typ, id string, payload []byte) error {
	_, err := n.c.EnqueueContext(ctx, asynq.NewTask(typ, payload), asynq.TaskID(id), asynq.Queue(n.cfg.Queue),
		asynq.MaxRetry(n.cfg.MaxRetry), asynq.Timeout(2*n.cfg.Timeout), asynq.Retention(dedupWindow))
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil // queued (or delivered) already
	}
	if err != nil {
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the notification queue cannot be reached", Err: err}
	}
	return nil
}

// addrID names a recipient in a task id without spelling out the address.
func addrID(a string) string {
	s := sha256.Sum256([]byte(a))
	return hex.EncodeToString(s[:6])
}

// DeadLetters returns how many deliveries were given up after their last retry.
func (n *Notifier) DeadLetters(ctx context.Context) (int64, error) {
	v, err := n.rc.Get(ctx, deadKey(n.cfg.KeyPrefix)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

func deadKey(prefix string) string { return prefix + "notify:dead_letters" }

// MailsOwners reports whether owners are mailed (an SMTP server is configured), so that
// the run service keeps an owner's address on the run only when it is used.
func (n *Notifier) MailsOwners() bool { return n.cfg.SMTP != nil }
