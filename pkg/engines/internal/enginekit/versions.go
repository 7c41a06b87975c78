package enginekit

import (
	"slices"
	"sync"
)

// Versions is an engine's list of available versions, set once from configuration or by
// discovery and read concurrently by request handlers.
type Versions struct {
	mu sync.RWMutex
	v  []string
}

// Get returns a copy of the versions.
func (vs *Versions) Get() []string {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	return slices.Clone(vs.v)
}

// Set replaces the versions.
func (vs *Versions) Set(v []string) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	vs.v = slices.Clone(v)
}
