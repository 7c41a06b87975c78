package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// healthTTL is how long the probe key lives: it needs no clean-up.
const healthTTL = 30 * time.Second

// Writable reports whether an append could succeed now, without adding an entry (the
// trail is a hash chain, and a probe entry every second would bury the real ones): the
// trail's two keys hold what they should (a stream and a hash, or nothing yet), and
// Redis accepts a write next to them, on a key of the same prefix, so the same hash slot
// on Redis Cluster. That refuses what stops appends in practice: a read-only replica
// after a failover, a full Redis with maxmemory-policy noeviction, a key clobbered by
// hand. It does not take the append lock.
func (l *Log) Writable(ctx context.Context) error {
	var stream, head *redis.StatusCmd
	_, err := l.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		stream = p.Type(ctx, l.stream)
		head = p.Type(ctx, l.head)
		p.Set(ctx, l.head+":health", time.Now().UTC().Format(time.RFC3339Nano), healthTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	if t := stream.Val(); t != "stream" && t != "none" {
		return fmt.Errorf("audit trail: %s is a %s, not a stream", l.stream, t)
	}
	if t := head.Val(); t != "hash" && t != "none" {
		return fmt.Errorf("audit trail: %s is a %s, not a hash", l.head, t)
	}
	return nil
}
