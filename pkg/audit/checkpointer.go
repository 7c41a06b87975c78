package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// CheckpointerConfig configures a Checkpointer.
type CheckpointerConfig struct {
	// Key signs the checkpoints (audit.checkpoint.key_file). Required.
	Key ed25519.PrivateKey
	// Store keeps them, under CheckpointPrefix. Required.
	Store wes.ResultStore
	// Interval is how often Run looks at the head. Required (> 0) for Run.
	Interval time.Duration
	// Lease elects the one worker that writes; nil: this one always does.
	Lease wes.Lease
	// Holder names this worker as the lease holder.
	Holder string
	// Logger; nil discards.
	Logger *slog.Logger
}

// Checkpointer signs the chain head and stores it in the result store: at most one
// checkpoint per interval, and only when the head moved since the last one this
// process wrote (a quiet trail gains no objects; after a restart or a change of writer
// the first look writes one). It never signs a head that does not extend the last one
// it signed by a valid chain (each look reads only the entries appended since; the
// first after a start walks the whole chain). That refusal is an early alarm, not the
// defence: a process started after a consistent rewrite signs the rewritten head, and
// it is the checkpoints stored before, checked by VerifyJSONLinesAnchored, that expose
// the rewrite.
//
// Writing a checkpoint is not itself an audit event: one would move the head, so every
// interval would write another checkpoint of nothing but the last one. The log says
// when one is written or refused.
type Checkpointer struct {
	l   *Log
	cfg CheckpointerConfig
	log *slog.Logger

	mu   sync.Mutex
	last point // the head last signed; zero before the first
}

// point is a place in the chain.
type point struct {
	Seq      int64
	ID, Hash string
}

// NewCheckpointer returns a Checkpointer of l's chain.
func (l *Log) NewCheckpointer(cfg CheckpointerConfig) *Checkpointer {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checkpointer{l: l, cfg: cfg, log: log.With("component", "audit-checkpoint")}
}

// ErrNotExtended is the cause of a refusal to sign: the head does not follow from the
// last signed checkpoint, so the trail was rewritten or cut behind Enclave's back.
var ErrNotExtended = errors.New("the audit chain does not extend the last checkpoint")

// Checkpoint signs and stores the current head if it moved since the last checkpoint;
// it returns what it wrote and whether it wrote anything (an empty trail or an unmoved
// head writes nothing). An error wrapping ErrNotExtended means the chain no longer holds
// from the last checkpoint: nothing is signed, and every later call refuses too until
// the process restarts.
func (c *Checkpointer) Checkpoint(ctx context.Context) (SignedCheckpoint, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.l.c.HMGet(ctx, c.l.head, "seq", "hash", "id").Result()
	if err != nil {
		return SignedCheckpoint{}, false, redisErr(err, "read the audit head")
	}
	seq, err := strconv.ParseInt(str(h[0], "0"), 10, 64)
	if err != nil {
		return SignedCheckpoint{}, false, fmt.Errorf("%w: the head's seq %q is not a number", ErrNotExtended, str(h[0], ""))
	}
	head := point{Seq: seq, Hash: str(h[1], Genesis), ID: str(h[2], "")}
	if head.Seq == 0 || head == c.last {
		return SignedCheckpoint{}, false, nil
	}
	if err := c.l.extends(ctx, c.last, head); err != nil {
		return SignedCheckpoint{}, false, err
	}
	sc := SignCheckpoint(Checkpoint{Chain: c.l.stream, Seq: head.Seq, ID: head.ID, Hash: head.Hash,
		Time: time.Now().UTC().Format(time.RFC3339Nano)}, c.cfg.Key)
	b, _ := json.Marshal(sc)
	b = append(b, '\n')
	if _, err := c.cfg.Store.Put(ctx, sc.Key(), bytes.NewReader(b), int64(len(b)), "application/json"); err != nil {
		return SignedCheckpoint{}, false, err
	}
	c.last = head
	return sc, true, nil
}

// extends checks that the entries after from (the zero point: the chain's start) lead,
// link by link, to exactly head. Only the entries in between are read.
func (l *Log) extends(ctx context.Context, from, head point) error {
	start, last := "-", point{Hash: Genesis}
	if from.ID != "" {
		start, last = "("+from.ID, from
	}
	broken := func(format string, args ...any) error {
		return fmt.Errorf("%w at seq %d: %s", ErrNotExtended, from.Seq, fmt.Sprintf(format, args...))
	}
	if head.Seq < from.Seq {
		return broken("the head is now seq %d, behind it", head.Seq)
	}
	for last.ID != head.ID {
		msgs, err := l.c.XRangeN(ctx, l.stream, start, head.ID, 1000).Result()
		if err != nil {
			return redisErr(err, "read the audit trail")
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			e, ok := rawOf(m)
			switch {
			case !ok:
				return broken("entry %s is not a readable entry", m.ID)
			case e.Seq != last.Seq+1 || e.Prev != last.Hash:
				return broken("entry %s (seq %d) does not follow seq %d", m.ID, e.Seq, last.Seq)
			case Hash(e.Seq, e.Prev, e.Event) != e.Hash:
				return broken("entry %s (seq %d) does not match its hash", m.ID, e.Seq)
			}
			last = point{Seq: e.Seq, ID: m.ID, Hash: e.Hash}
		}
		start = "(" + last.ID
	}
	if last != head {
		return broken("the head names seq %d (%s), but the chain leads to seq %d (%s)", head.Seq, head.ID, last.Seq, last.ID)
	}
	return nil
}

// Run writes checkpoints every Interval until ctx ends, the first at once, while this
// worker holds the lease (taken for three intervals and renewed at each; given up on
// return). A failed write is logged and tried again at the next interval.
func (c *Checkpointer) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	leading := false
	defer func() {
		if c.cfg.Lease != nil && leading {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = c.cfg.Lease.Release(rctx, c.cfg.Holder)
		}
	}()
	for {
		leading = c.lead(ctx, leading)
		if leading {
			c.once(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lead takes or renews the lease; without one, this worker always writes.
func (c *Checkpointer) lead(ctx context.Context, was bool) bool {
	if c.cfg.Lease == nil {
		return true
	}
	holder, err := c.cfg.Lease.Hold(ctx, c.cfg.Holder, 3*c.cfg.Interval)
	if err != nil {
		if ctx.Err() == nil && was {
			c.log.Warn("cannot renew the audit checkpoint lease; this worker stops writing checkpoints until it holds it again", "err", err)
		}
		return false
	}
	now := holder == c.cfg.Holder
	if now && !was {
		c.log.Info("this worker writes the audit checkpoints", "interval", c.cfg.Interval)
	}
	return now
}

func (c *Checkpointer) once(ctx context.Context) {
	started := time.Now()
	sc, wrote, err := c.Checkpoint(ctx)
	switch {
	case ctx.Err() != nil:
	case errors.Is(err, ErrNotExtended):
		c.log.Error("refusing to sign the audit head: the trail was changed behind Enclave's back since the last checkpoint; run enclave audit verify --checkpoints", "err", err)
	case err != nil:
		c.log.Warn("the audit checkpoint could not be written; trying again at the next interval", "err", err)
	case wrote:
		c.log.Info("audit checkpoint written", "seq", sc.Seq, "key", sc.Key(), "took", time.Since(started).Round(time.Millisecond))
	}
}
