// Package audit is Enclave's append-only, hash-chained audit trail on Redis.
//
// Each event is stored as its JSON bytes in a Redis stream, with a sequence number, the
// hash of the entry before it (prev) and its own hash:
//
//	hash = hex(sha256("enclave-audit-v1\n" + seq + "\n" + prev + "\n" + event JSON))
//
// starting from Genesis. A "head" hash next to the stream holds the last entry's seq,
// hash and stream id. An append checks the head and writes entry and head in one Lua
// script (compare-and-set, retried), so concurrent writers, also in other processes,
// keep a single chain. Editing, deleting, inserting or reordering an entry breaks the
// chain at that point, which Verify (on Redis) and VerifyJSONLines (on an export) report.
//
// Limits, by design: anyone who can write Redis and knows this scheme can rebuild the
// whole chain, or cut its tail together with the head. Signed checkpoints of the head,
// stored outside Redis (checkpoint.go, Checkpointer), make such a rewrite detectable by
// VerifyJSONLinesAnchored.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Genesis is the prev of the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "enclave:"

// Options configure a Log.
type Options struct {
	// Prefix starts both keys the log writes (<prefix>audit:stream, <prefix>audit:head).
	// Default "enclave:". On Redis Cluster use a hash-tagged prefix ("{enclave}:") so
	// both keys share a slot.
	Prefix string
	// Metrics times each append and counts the failed ones; nil records nothing.
	Metrics *metrics.Registry
}

// Log is the audit trail. It implements wes.Auditor and is safe for concurrent use.
type Log struct {
	c      redis.UniversalClient
	stream string
	head   string

	// mu serialises this process's appends, and seq/prev remember the head it last
	// wrote or saw. Without them, concurrent writers of one process would race each
	// other's compare-and-set and retry (a Redis script run per failed attempt); with
	// them, one append is one script run unless another process wrote in between.
	mu        sync.Mutex
	seq, prev string
	known     bool

	m *metrics.Registry
}

var _ wes.Auditor = (*Log)(nil)

// New returns a Log on c. The caller keeps ownership of c and closes it.
func New(c redis.UniversalClient, o Options) *Log {
	p := o.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return &Log{c: c, stream: p + "audit:stream", head: p + "audit:head", m: o.Metrics}
}

// Entry is one entry of the chain (wes.AuditEntry).
type Entry = wes.AuditEntry

// Hash is the chain hash of an entry with the given seq, prev and event JSON bytes.
func Hash(seq int64, prev string, event []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "enclave-audit-v1\n%d\n%s\n", seq, prev)
	h.Write(event)
	return hex.EncodeToString(h.Sum(nil))
}

// appendScript appends one entry if the head is still the one the caller hashed
// against; otherwise it returns the current head so the caller can retry.
// KEYS: stream, head. ARGV: expected seq, expected hash (= the new entry's prev), new
// seq, new hash, event JSON, Genesis.
var appendScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[2], 'seq', 'hash')
local seq = h[1] or '0'
local hash = h[2] or ARGV[6]
if seq ~= ARGV[1] or hash ~= ARGV[2] then
  return {0, seq, hash}
end
local id = redis.call('XADD', KEYS[1], '*', 'seq', ARGV[3], 'prev', ARGV[2], 'hash', ARGV[4], 'event', ARGV[5])
redis.call('HSET', KEYS[2], 'seq', ARGV[3], 'hash', ARGV[4], 'id', id)
return {1, id}
`)

// maxAttempts bounds the compare-and-set retries of one Record. Each failed attempt
// means another writer succeeded, so this only runs out under extreme contention (or a
// head that no longer parses).
const maxAttempts = 1000

// Record appends e to the trail. Time defaults to now (UTC); Action and Actor are
// required (EINVALID). It returns nil only once the entry is in Redis; EUNAVAILABLE when
// Redis cannot be reached.
func (l *Log) Record(ctx context.Context, e wes.AuditEvent) (err error) {
	switch {
	case e.Action == "":
		return wes.Errorf(wes.EINVALID, "an audit event needs an action")
	case e.Actor == "":
		return wes.Errorf(wes.EINVALID, "audit event %s needs an actor (a subject or \"system\")", e.Action)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	ev, err := json.Marshal(e)
	if err != nil {
		return wes.Internal(err, "an audit event could not be encoded")
	}
	began := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	defer func() { l.m.AuditAppend(time.Since(began), err) }()
	if !l.known {
		h, err := l.c.HMGet(ctx, l.head, "seq", "hash").Result()
		if err != nil {
			return redisErr(err, "read the audit head")
		}
		l.seq, l.prev, l.known = str(h[0], "0"), str(h[1], Genesis), true
	}
	seq, prev := l.seq, l.prev
	for range maxAttempts {
		n, err := strconv.ParseInt(seq, 10, 64)
		if err != nil {
			return wes.Internal(err, "the audit head is damaged; run audit verify")
		}
		hash := Hash(n+1, prev, ev)
		res, err := appendScript.Run(ctx, l.c, []string{l.stream, l.head},
			seq, prev, strconv.FormatInt(n+1, 10), hash, ev, Genesis).Slice()
		if err != nil {
			return redisErr(err, "append to the audit trail")
		}
		if ok, _ := res[0].(int64); ok == 1 {
			l.seq, l.prev = strconv.FormatInt(n+1, 10), hash
			return nil
		}
		seq, prev = str(res[1], "0"), str(res[2], Genesis)
		l.seq, l.prev = seq, prev
	}
	return wes.Errorf(wes.EUNAVAILABLE, "the audit trail is too busy; try again")
}

func str(v any, def string) string {
	if s, ok := v.(string); ok {
		return s
	}
	return def
}

func redisErr(err error, what string) error {
	return &wes.Error{Code: wes.EUNAVAILABLE, Message: "could not " + what + ": Redis is unavailable", Err: err}
}
