package keylock

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Many callers on few keys: never two holders of one key at once, and no entry is left
// behind. (Counting entries rather than timing: a waiter that took the key's entry from
// the map before the holder released it must still exclude a caller arriving later.)
func TestLockExcludesPerKeyAndForgets(t *testing.T) {
	var s Set
	keys := []string{"a", "b", "c"}
	holders := make([]atomic.Int32, len(keys))
	var wg sync.WaitGroup
	for i := range 300 {
		k := i % len(keys)
		wg.Go(func() {
			unlock := s.Lock(keys[k])
			if n := holders[k].Add(1); n != 1 {
				t.Errorf("key %s held by %d callers at once", keys[k], n)
			}
			holders[k].Add(-1)
			unlock()
		})
	}
	wg.Wait()
	if n := s.len(); n != 0 {
		t.Errorf("%d keys left in the set after every caller unlocked", n)
	}
}

func TestLockOtherKeysDoNotWait(t *testing.T) {
	var s Set
	unlockA := s.Lock("a")
	unlockB := s.Lock("b") // would deadlock if keys shared a mutex
	unlockB()
	unlockA()
}
