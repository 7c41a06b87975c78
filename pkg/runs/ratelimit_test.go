package runs

import (
	"testing"
	"time"
)

// The limiter records the first refusals of each key per window and, with the key's
// next recorded refusal, how many it held back; keys past its memory share one count.
func TestRefusalLimiter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := &refusalLimiter{perKey: 2, total: 3, window: time.Minute, now: func() time.Time { return now }}
	for i, w := range []bool{true, true, false, false} {
		if ok, _ := l.allow("a"); ok != w {
			t.Errorf("a #%d: %v", i, ok)
		}
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("b is held back by a's refusals")
	}
	if ok, _ := l.allow("c"); ok {
		t.Error("c passes the total limit")
	}
	now = now.Add(time.Minute)
	if ok, h := l.allow("a"); !ok || h.mine != 2 {
		t.Errorf("a in the next window: %v %+v, want 2 held back", ok, h)
	}
	if ok, h := l.allow("c"); !ok || h.mine != 1 {
		t.Errorf("c in the next window: %v %+v", ok, h)
	}
}
