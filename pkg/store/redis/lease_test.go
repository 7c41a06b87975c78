package redisstore

import (
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// TestLease takes, renews, refuses and releases a lease, on the real Redis and on
// miniredis, and checks that a holder whose lease ran out and passed to another can
// neither extend nor delete the new holder's lease.
func TestLease(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		s, c, _ := realStore(t)
		l := s.Lease("reconciler")
		testLease(t, l, func() {
			// Wait for Redis to expire the lease: polling, as the TTL is Redis's clock.
			deadline := time.Now().Add(5 * time.Second)
			for c.Exists(t.Context(), l.key).Val() == 1 {
				if time.Now().After(deadline) {
					t.Fatal("the lease did not expire")
				}
				time.Sleep(5 * time.Millisecond)
			}
		}, func() time.Duration { return c.PTTL(t.Context(), l.key).Val() })
	})
	t.Run("miniredis", func(t *testing.T) {
		s, _, mr := miniStore(t)
		l := s.Lease("reconciler")
		testLease(t, l, func() { mr.FastForward(time.Second) }, func() time.Duration { return mr.TTL(l.key) })
	})
}

func testLease(t *testing.T, l *Lease, expire func(), ttl func() time.Duration) {
	ctx := t.Context()
	hold := func(holder string, d time.Duration, want string) {
		t.Helper()
		got, err := l.Hold(ctx, holder, d)
		if err != nil || got != want {
			t.Fatalf("Hold(%s) = %q, %v; want %q", holder, got, err, want)
		}
	}
	hold("a", 300*time.Millisecond, "a") // free: a takes it
	hold("b", time.Minute, "a")          // held: b stands by, and changes nothing
	if d := ttl(); d <= 0 || d > 300*time.Millisecond {
		t.Fatalf("TTL %v after b's try, want a's 300ms or less", d)
	}
	hold("a", time.Minute, "a") // a renews
	if d := ttl(); d < 30*time.Second {
		t.Fatalf("TTL %v after a renewed for a minute", d)
	}
	hold("a", 200*time.Millisecond, "a")
	expire()
	hold("b", time.Minute, "b") // a's lease ran out: b takes it
	hold("a", 200*time.Millisecond, "b")
	if err := l.Release(ctx, "a"); err != nil { // a, stale, cannot free b's lease
		t.Fatal(err)
	}
	if d := ttl(); d < 30*time.Second {
		t.Fatalf("TTL %v of b's lease after stale a tried to renew and release it, want b's minute", d)
	}
	hold("c", time.Minute, "b")
	if err := l.Release(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	hold("c", time.Minute, "c") // freed: the next one takes it at once

	for _, bad := range []struct {
		holder string
		ttl    time.Duration
	}{{"", time.Second}, {"a", 0}, {"a", time.Microsecond}} {
		if _, err := l.Hold(ctx, bad.holder, bad.ttl); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("Hold(%q, %v) = %v, want EINVALID", bad.holder, bad.ttl, err)
		}
	}
}

// The embedded store expires keys by the wall clock (app sets ClockTTL), so a lease
// held in it runs out without anyone fast-forwarding the clock.
func TestLeaseMiniredisWallClock(t *testing.T) {
	s, _, mr := miniStore(t)
	mr.ClockTTL(true)
	l := s.Lease("reconciler")
	if got, err := l.Hold(t.Context(), "a", 50*time.Millisecond); err != nil || got != "a" {
		t.Fatalf("Hold = %q, %v", got, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := l.Hold(t.Context(), "b", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got == "b" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease never ran out on miniredis's wall clock")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
