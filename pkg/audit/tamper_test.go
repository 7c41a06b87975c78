package audit_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/audit"
)

// rewrite replaces the stream with what change makes of its entries, re-adding them with
// fresh explicit ids: what someone with write access to Redis can do.
func rewrite(t *testing.T, c *redis.Client, stream string, change func([]redis.XMessage) []redis.XMessage) {
	t.Helper()
	msgs, err := c.XRange(ctx(t), stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	msgs = change(msgs)
	if err := c.Del(ctx(t), stream).Err(); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if err := c.XAdd(ctx(t), &redis.XAddArgs{Stream: stream, ID: fmt.Sprintf("%d-1", i+1), Values: m.Values}).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func editEvent(m redis.XMessage) redis.XMessage {
	v := map[string]any{}
	for k, x := range m.Values {
		v[k] = x
	}
	v["event"] = strings.Replace(v["event"].(string), `"actor":"bob"`, `"actor":"mallory"`, 1)
	return redis.XMessage{ID: m.ID, Values: v}
}

func hasProblem(r audit.Report, kind string, seq int64) bool {
	for _, p := range r.Problems {
		if p.Kind == kind && (seq < 0 || p.Seq == seq) {
			return true
		}
	}
	return false
}

// Each tampering, done to Redis directly, is found by Verify, and (where an export can
// show it) by VerifyJSONLines on an export made afterwards.
func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name     string
		tamper   func(t *testing.T, c *redis.Client, prefix string)
		kind     string
		seq      int64 // -1: any
		inExport bool  // the export alone shows it
	}{
		{"edited entry", func(t *testing.T, c *redis.Client, p string) {
			rewrite(t, c, p+"audit:stream", func(m []redis.XMessage) []redis.XMessage {
				m[1] = editEvent(m[1]) // seq 2, actor bob
				return m
			})
		}, audit.ProblemHash, 2, true},
		{"deleted entry (XDEL)", func(t *testing.T, c *redis.Client, p string) {
			m, _ := c.XRange(ctx(t), p+"audit:stream", "-", "+").Result()
			if err := c.XDel(ctx(t), p+"audit:stream", m[2].ID).Err(); err != nil {
				t.Fatal(err)
			}
		}, audit.ProblemLink, 4, true},
		{"inserted entry", func(t *testing.T, c *redis.Client, p string) {
			rewrite(t, c, p+"audit:stream", func(m []redis.XMessage) []redis.XMessage {
				return slices.Insert(m, 2, editEvent(m[1]))
			})
		}, audit.ProblemSequence, -1, true},
		{"reordered entries", func(t *testing.T, c *redis.Client, p string) {
			rewrite(t, c, p+"audit:stream", func(m []redis.XMessage) []redis.XMessage {
				m[2], m[3] = m[3], m[2]
				return m
			})
		}, audit.ProblemLink, 4, true},
		{"last entry deleted", func(t *testing.T, c *redis.Client, p string) {
			m, _ := c.XRange(ctx(t), p+"audit:stream", "-", "+").Result()
			if err := c.XDel(ctx(t), p+"audit:stream", m[len(m)-1].ID).Err(); err != nil {
				t.Fatal(err)
			}
		}, audit.ProblemHead, -1, false},
		{"stream deleted", func(t *testing.T, c *redis.Client, p string) {
			if err := c.Del(ctx(t), p+"audit:stream").Err(); err != nil {
				t.Fatal(err)
			}
		}, audit.ProblemHead, -1, false},
		{"entry appended outside Record", func(t *testing.T, c *redis.Client, p string) {
			m, _ := c.XRange(ctx(t), p+"audit:stream", "-", "+").Result()
			last := m[len(m)-1]
			if err := c.XAdd(ctx(t), &redis.XAddArgs{Stream: p + "audit:stream", Values: map[string]any{
				"seq": "7", "prev": last.Values["hash"], "hash": strings.Repeat("a", 64), "event": `{"actor":"mallory"}`,
			}}).Err(); err != nil {
				t.Fatal(err)
			}
		}, audit.ProblemHash, 7, true},
		{"hash field edited", func(t *testing.T, c *redis.Client, p string) {
			rewrite(t, c, p+"audit:stream", func(m []redis.XMessage) []redis.XMessage {
				m[0].Values["hash"] = strings.Repeat("b", 64)
				return m
			})
		}, audit.ProblemHash, 1, true},
		{"event not JSON", func(t *testing.T, c *redis.Client, p string) {
			rewrite(t, c, p+"audit:stream", func(m []redis.XMessage) []redis.XMessage {
				m[4].Values["event"] = "not json"
				return m
			})
		}, audit.ProblemMalformed, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, c, p := newLog(t)
			record(t, l, 6)
			if r := mustVerify(t, l); !r.OK {
				t.Fatalf("before tampering: %+v", r)
			}
			tt.tamper(t, c, p)
			r := mustVerify(t, l)
			if r.OK || !hasProblem(r, tt.kind, tt.seq) {
				t.Errorf("Verify after %s = %+v, want a %s problem at seq %d", tt.name, r, tt.kind, tt.seq)
			}
			fr, err := audit.VerifyJSONLines(strings.NewReader(export(t, l)))
			if err != nil {
				t.Fatal(err)
			}
			if tt.inExport && (fr.OK || !hasProblem(fr, tt.kind, tt.seq)) {
				t.Errorf("VerifyJSONLines of the export after %s = %+v, want a %s problem", tt.name, fr, tt.kind)
			}
		})
	}
}

// Editing an exported file is found too.
func TestVerifyJSONLinesDetectsEdits(t *testing.T) {
	l, _, _ := newLog(t)
	record(t, l, 5)
	good := export(t, l)
	lines := strings.SplitAfter(strings.TrimSuffix(good, "\n"), "\n")
	join := func(ls ...string) string { return strings.Join(ls, "") }
	tests := []struct {
		name, text, kind string
	}{
		{"edited field", strings.Replace(good, `"actor":"bob"`, `"actor":"eve"`, 1), audit.ProblemHash},
		{"deleted line", join(lines[0], lines[2], lines[3], lines[4]), audit.ProblemLink},
		{"swapped lines", join(lines[0], lines[2], lines[1], lines[3], lines[4]), audit.ProblemSequence},
		{"duplicated line", join(lines[0], lines[1], lines[1], lines[2], lines[3], lines[4]), audit.ProblemSequence},
		{"first line deleted", join(lines[1], lines[2], lines[3], lines[4]), audit.ProblemLink},
		{"garbage line", join(lines[0], "this is not json\n", lines[1], lines[2], lines[3], lines[4]), audit.ProblemMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := audit.VerifyJSONLines(strings.NewReader(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if r.OK || !hasProblem(r, tt.kind, -1) {
				t.Errorf("VerifyJSONLines = %+v, want a %s problem", r, tt.kind)
			}
		})
	}
	if r, err := audit.VerifyJSONLines(strings.NewReader("\n" + good + "\n\n")); err != nil || !r.OK {
		t.Errorf("blank lines around a good export: %+v, %v; want OK", r, err)
	}
}
