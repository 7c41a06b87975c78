package audit_test

import (
	"context"
	"testing"
)

// Writable adds no entry to the trail, and fails when a trail key holds the wrong type
// (an append would fail too).
func TestWritable(t *testing.T) {
	ctx := context.Background()
	l, c, p := newLog(t)
	if err := l.Writable(ctx); err != nil {
		t.Fatalf("Writable of an empty trail = %v", err)
	}
	if err := l.Record(ctx, ev(0)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := l.Writable(ctx); err != nil {
			t.Fatalf("Writable = %v", err)
		}
	}
	if n := c.XLen(ctx, p+"audit:stream").Val(); n != 1 {
		t.Errorf("the trail has %d entries after one Record and three Writable, want 1", n)
	}
	c.Del(ctx, p+"audit:stream")
	c.Set(ctx, p+"audit:stream", "clobbered", 0)
	if err := l.Writable(ctx); err == nil {
		t.Error("Writable with the stream key clobbered = nil")
	}
}
