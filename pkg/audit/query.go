package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Filter selects entries (wes.AuditFilter).
type Filter = wes.AuditFilter

// Page is one page of a query (wes.AuditPage).
type Page = wes.AuditPage

const (
	defaultLimit = 100
	maxLimit     = 1000
	batch        = 256
	// maxScan bounds the entries one Query reads, so a narrow filter on a long trail
	// answers in bounded time and hands back a cursor. (Since/Until filter on the
	// event's Time, which the caller may set, so stream ids cannot narrow the scan.)
	maxScan = 20000
)

var streamID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// Query returns entries matching f, oldest first. EINVALID for a bad Limit or Cursor.
func (l *Log) Query(ctx context.Context, f Filter) (Page, error) {
	switch {
	case f.Limit < 0 || f.Limit > maxLimit:
		return Page{}, wes.Errorf(wes.EINVALID, "limit must be between 1 and %d", maxLimit)
	case f.Cursor != "" && !streamID.MatchString(f.Cursor):
		return Page{}, wes.Errorf(wes.EINVALID, "cursor %q is not one returned by a previous query", f.Cursor)
	}
	if f.Limit == 0 {
		f.Limit = defaultLimit
	}
	start := "-"
	if f.Cursor != "" {
		start = "(" + f.Cursor
	}
	var p Page
	scanned := 0
	for {
		msgs, err := l.c.XRangeN(ctx, l.stream, start, "+", batch).Result()
		if err != nil {
			return Page{}, redisErr(err, "read the audit trail")
		}
		for _, m := range msgs {
			scanned++
			e, err := parse(m)
			if err != nil {
				return Page{}, err
			}
			if match(f, e.Event) {
				p.Entries = append(p.Entries, e)
				if len(p.Entries) == f.Limit {
					p.Next = m.ID
					return p, nil
				}
			}
			if scanned >= maxScan {
				p.Next = m.ID
				return p, nil
			}
		}
		if len(msgs) < batch {
			return p, nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

func match(f Filter, e wes.AuditEvent) bool {
	switch {
	case f.RunID != "" && e.RunID != f.RunID,
		f.Actor != "" && e.Actor != f.Actor,
		!f.Since.IsZero() && e.Time.Before(f.Since),
		!f.Until.IsZero() && !e.Time.Before(f.Until):
		return false
	case f.Action == "":
		return true
	case strings.HasSuffix(f.Action, "*"):
		return strings.HasPrefix(e.Action, strings.TrimSuffix(f.Action, "*"))
	}
	return e.Action == f.Action
}

// raw is an entry as stored and as exported: the event's exact JSON bytes, which the
// chain hash covers.
type raw struct {
	Seq   int64           `json:"seq"`
	ID    string          `json:"id"`
	Prev  string          `json:"prev"`
	Hash  string          `json:"hash"`
	Event json.RawMessage `json:"event"`
}

func rawOf(m redis.XMessage) (raw, bool) {
	seq, err := strconv.ParseInt(str(m.Values["seq"], ""), 10, 64)
	ev := str(m.Values["event"], "")
	r := raw{Seq: seq, ID: m.ID, Prev: str(m.Values["prev"], ""), Hash: str(m.Values["hash"], ""), Event: json.RawMessage(ev)}
	return r, err == nil && ev != "" && json.Valid(r.Event)
}

func parse(m redis.XMessage) (Entry, error) {
	r, ok := rawOf(m)
	var ev wes.AuditEvent
	if ok && json.Unmarshal(r.Event, &ev) == nil {
		return Entry{Seq: r.Seq, ID: r.ID, Prev: r.Prev, Hash: r.Hash, Event: ev}, nil
	}
	return Entry{}, wes.Errorf(wes.EINTERNAL, "audit entry %s is damaged; run audit verify", m.ID)
}

// Export writes the whole trail to w as JSON lines, oldest first, one object per entry
// with seq, id, prev, hash and the event exactly as hashed, for VerifyJSONLines.
// Damaged entries are exported as they are, so the export shows the damage too.
func (l *Log) Export(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	start := "-"
	for {
		msgs, err := l.c.XRangeN(ctx, l.stream, start, "+", batch).Result()
		if err != nil {
			return redisErr(err, "read the audit trail")
		}
		for _, m := range msgs {
			r, ok := rawOf(m)
			if !ok {
				// Not valid JSON: export it as a string so the line still parses and
				// VerifyJSONLines reports the entry rather than the file.
				b, _ := json.Marshal(string(r.Event))
				r.Event = b
			}
			if err := enc.Encode(r); err != nil {
				return wes.Internal(err, "the audit export could not be written")
			}
		}
		if len(msgs) < batch {
			break
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
	if err := bw.Flush(); err != nil {
		return wes.Internal(err, "the audit export could not be written")
	}
	return nil
}
