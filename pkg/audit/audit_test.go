package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/wes"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// newLog returns a log with its own prefix on the test Redis, its client and prefix.
func newLog(t *testing.T) (*audit.Log, *redis.Client, string) {
	t.Helper()
	c := testutil.Redis(t)
	p := testutil.UniqueName("test:audit:") + ":"
	return audit.New(c, audit.Options{Prefix: p}), c, p
}

func ev(i int) wes.AuditEvent {
	actor := "alice"
	if i%2 == 1 {
		actor = "bob"
	}
	return wes.AuditEvent{
		Time:    time.Date(2026, 11, 23, 10, 0, i, 0, time.UTC),
		Actor:   actor,
		Action:  []string{"run.submit", "run.state", "egress.release", "egress.refuse"}[i%4],
		Outcome: "ok", RunID: fmt.Sprintf("run-%d", i%3),
		Reason: "<b>&'\"</b> ünïcode", // HTML-escaped by encoding/json: must survive export
		Detail: map[string]string{"path": fmt.Sprintf("results/%d.csv", i)},
	}
}

func record(t *testing.T, l *audit.Log, n int) {
	t.Helper()
	for i := range n {
		if err := l.Record(ctx(t), ev(i)); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
}

func mustVerify(t *testing.T, l *audit.Log) audit.Report {
	t.Helper()
	r, err := l.Verify(ctx(t))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

func export(t *testing.T, l *audit.Log) string {
	t.Helper()
	var b bytes.Buffer
	if err := l.Export(ctx(t), &b); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return b.String()
}

func TestRecordVerifyExport(t *testing.T) {
	l, _, _ := newLog(t)
	if r := mustVerify(t, l); !r.OK || r.Entries != 0 || r.Head != audit.Genesis {
		t.Errorf("empty trail: %+v, want OK, 0 entries, head Genesis", r)
	}
	record(t, l, 7)
	r := mustVerify(t, l)
	if !r.OK || r.Entries != 7 || len(r.Head) != 64 {
		t.Fatalf("Verify = %+v, want OK with 7 entries", r)
	}
	out := export(t, l)
	if lines := strings.Count(out, "\n"); lines != 7 {
		t.Errorf("export has %d lines, want 7:\n%s", lines, out)
	}
	fr, err := audit.VerifyJSONLines(strings.NewReader(out))
	if err != nil || !fr.OK || fr.Entries != 7 || fr.Head != r.Head {
		t.Errorf("VerifyJSONLines = %+v, %v; want OK, 7 entries, head %s", fr, err, r.Head)
	}
	for _, want := range []string{`"seq":1,`, `"prev":"` + audit.Genesis + `"`, `"hash":"`} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %s:\n%s", want, out)
		}
	}
	p, err := l.Query(ctx(t), audit.Filter{})
	if err != nil || len(p.Entries) != 7 || p.Entries[6].Hash != r.Head || p.Entries[0].Event.Reason != ev(0).Reason {
		t.Errorf("Query all = %+v, %v; want the 7 entries back intact", p, err)
	}
}

func TestRecordValidates(t *testing.T) {
	l, _, _ := newLog(t)
	for name, e := range map[string]wes.AuditEvent{
		"no action": {Actor: "alice", Outcome: "ok"},
		"no actor":  {Action: "run.submit", Outcome: "ok"},
	} {
		if err := l.Record(ctx(t), e); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("%s: Record = %v, want EINVALID", name, err)
		}
	}
	if r := mustVerify(t, l); r.Entries != 0 {
		t.Errorf("refused events were stored: %+v", r)
	}
}

// Writers in separate "processes" (separate clients and Logs) keep one chain.
func TestConcurrentWritersKeepOneChain(t *testing.T) {
	l1, _, p := newLog(t)
	c2 := redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(t)})
	t.Cleanup(func() { _ = c2.Close() })
	l2 := audit.New(c2, audit.Options{Prefix: p})
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		l := l1
		if w%2 == 1 {
			l = l2
		}
		wg.Go(func() {
			for i := range each {
				e := ev(i)
				e.Detail = map[string]string{"writer": fmt.Sprint(w), "i": fmt.Sprint(i)}
				errs <- l.Record(context.Background(), e)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
	}
	r := mustVerify(t, l1)
	if !r.OK || r.Entries != writers*each {
		t.Fatalf("after concurrent writes Verify = %+v, want OK with %d entries", r, writers*each)
	}
}

func TestRedisUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	l := audit.New(c, audit.Options{})
	if err := l.Record(ctx(t), ev(0)); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Record with Redis down = %v, want EUNAVAILABLE", err)
	}
	if _, err := l.Verify(ctx(t)); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Verify with Redis down = %v, want EUNAVAILABLE", err)
	}
}
