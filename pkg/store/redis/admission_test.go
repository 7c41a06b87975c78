package redisstore

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// admissionStores runs f on the real Redis and on miniredis (the embedded default).
func admissionStores(t *testing.T, f func(t *testing.T, s *Admission)) {
	t.Run("redis", func(t *testing.T) { s, _, _ := realStore(t); f(t, s.Admission()) })
	t.Run("miniredis", func(t *testing.T) { s, _, _ := miniStore(t); f(t, s.Admission()) })
}

func acquire(t *testing.T, s *Admission, owner, id string, order int64, limit int) (bool, []string) {
	t.Helper()
	ok, admitted, err := s.Acquire(context.Background(), wes.Ticket{Executor: "local", Owner: owner, RunID: id, Order: order}, limit)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", id, err)
	}
	return ok, admitted
}

// TestAdmissionFairAcrossOwners: one owner queues many runs before another queues one;
// as slots free up one at a time, the owners take turns, each in submission order.
func TestAdmissionFairAcrossOwners(t *testing.T) {
	admissionStores(t, func(t *testing.T, s *Admission) {
		ctx := context.Background()
		const limit = 2
		// alice submits a0..a5; a0 and a1 get the two slots.
		for i := range 6 {
			ok, admitted := acquire(t, s, "alice", fmt.Sprintf("a%d", i), int64(i), limit)
			if want := i < limit; ok != want || len(admitted) != 0 {
				t.Fatalf("a%d: granted %v (want %v), admitted %v", i, ok, want, admitted)
			}
		}
		// bob submits b0, b1 later; they wait too.
		for i := range 2 {
			if ok, _ := acquire(t, s, "bob", fmt.Sprintf("b%d", i), int64(100+i), limit); ok {
				t.Fatalf("b%d was granted a slot while all were held", i)
			}
		}
		// Asking again keeps a waiting run's place and a holder's slot.
		if ok, _ := acquire(t, s, "alice", "a0", 0, limit); !ok {
			t.Fatal("a0 lost its slot on a second Acquire")
		}
		if ok, _ := acquire(t, s, "alice", "a5", 5, limit); ok {
			t.Fatal("a5 jumped the line on a second Acquire")
		}
		// Free one slot at a time, in the order runs were let in.
		var order []string
		running := []string{"a0", "a1"}
		for len(running) > 0 {
			done := running[0]
			running = running[1:]
			admitted, err := s.Release(ctx, "local", limit, done)
			if err != nil {
				t.Fatal(err)
			}
			order = append(order, admitted...)
			running = append(running, admitted...)
		}
		want := []string{"a2", "b0", "a3", "b1", "a4", "a5"}
		if !slices.Equal(order, want) {
			t.Fatalf("admission order %v, want %v", order, want)
		}
		held, waiting, err := s.Occupancy(ctx, "local")
		if err != nil || held != 0 || waiting != 0 {
			t.Fatalf("occupancy after all released: %d held, %d waiting, %v", held, waiting, err)
		}
	})
}

// TestAdmissionReleaseOfWaitingRun: a run that ends while waiting (cancelled) leaves the
// line, and its owner no longer takes a turn for it.
func TestAdmissionReleaseOfWaitingRun(t *testing.T) {
	admissionStores(t, func(t *testing.T, s *Admission) {
		ctx := context.Background()
		acquire(t, s, "alice", "a0", 0, 1)
		acquire(t, s, "bob", "b0", 1, 1)
		acquire(t, s, "carol", "c0", 2, 1)
		w, err := s.Waiting(ctx, "local", []string{"a0", "b0", "c0", "zz"})
		if err != nil || !slices.Equal(w, []bool{false, true, true, false}) {
			t.Fatalf("Waiting = %v, %v", w, err)
		}
		if admitted, err := s.Release(ctx, "local", 1, "b0"); err != nil || len(admitted) != 0 {
			t.Fatalf("releasing a waiting run admitted %v (%v) while the slot is held", admitted, err)
		}
		admitted, err := s.Release(ctx, "local", 1, "a0")
		if err != nil || !slices.Equal(admitted, []string{"c0"}) {
			t.Fatalf("after a0 ended, admitted %v (%v), want [c0]", admitted, err)
		}
		holders, err := s.Holders(ctx, "local")
		if err != nil || !slices.Equal(holders, []string{"c0"}) {
			t.Fatalf("Holders = %v, %v", holders, err)
		}
		// A larger limit lets more in at the next release, even of nothing.
		acquire(t, s, "alice", "a1", 3, 1)
		acquire(t, s, "alice", "a2", 4, 1)
		admitted, err = s.Release(ctx, "local", 3)
		if err != nil || !slices.Equal(admitted, []string{"a1", "a2"}) {
			t.Fatalf("raising the limit admitted %v (%v), want [a1 a2]", admitted, err)
		}
	})
}

// TestAdmissionExecutorsAreSeparate: slots of one executor are not another's.
func TestAdmissionExecutorsAreSeparate(t *testing.T) {
	admissionStores(t, func(t *testing.T, s *Admission) {
		ctx := context.Background()
		acquire(t, s, "alice", "a0", 0, 1)
		ok, _, err := s.Acquire(ctx, wes.Ticket{Executor: "docker", Owner: "alice", RunID: "d0"}, 1)
		if err != nil || !ok {
			t.Fatalf("a docker run waited for a local slot: %v %v", ok, err)
		}
		if _, _, err := s.Acquire(ctx, wes.Ticket{Executor: "local", RunID: "x"}, 1); !wes.IsCode(err, wes.EINVALID) {
			t.Fatalf("a ticket without owner: %v, want EINVALID", err)
		}
	})
}
