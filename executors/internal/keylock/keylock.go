// Package keylock serialises work on one key (a job id) within a process, holding no
// memory for keys nobody is using.
package keylock

import "sync"

// Set is a set of per-key mutexes. The zero value is ready to use; a Set must not be
// copied after first use.
type Set struct {
	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	mu   sync.Mutex
	refs int // holders and waiters; the entry leaves the map when the last one is done
}

// Lock blocks until no other caller holds key, and returns the function that releases it.
func (s *Set) Lock(key string) (unlock func()) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]*entry{}
	}
	e := s.m[key]
	if e == nil {
		e = &entry{}
		s.m[key] = e
	}
	e.refs++
	s.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		s.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(s.m, key)
		}
		s.mu.Unlock()
	}
}

// len reports how many keys are in use (for tests).
func (s *Set) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
