package executors

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Registry holds the configured executors by name. It is read-only after NewRegistry and
// safe for concurrent use.
type Registry struct {
	byName map[string]wes.Executor
	names  []string
}

// NewRegistry returns a registry of the given executors, keyed by their Name(). Two
// executors with the same name, or a nil executor, are a wiring bug and panic.
func NewRegistry(es ...wes.Executor) *Registry {
	r := &Registry{byName: make(map[string]wes.Executor, len(es))}
	for _, e := range es {
		if e == nil {
			panic("executors.NewRegistry: nil executor")
		}
		name := e.Name()
		if _, dup := r.byName[name]; dup {
			panic(fmt.Sprintf("executors.NewRegistry: executor %q registered twice", name))
		}
		r.byName[name] = e
		r.names = append(r.names, name)
	}
	slices.Sort(r.names)
	return r
}

// Get returns the executor called name. An unknown name is EINVALID, with the configured
// names in the message so an operator can fix the configuration.
func (r *Registry) Get(name string) (wes.Executor, error) {
	if e, ok := r.byName[name]; ok {
		return e, nil
	}
	configured := "none"
	if len(r.names) > 0 {
		configured = strings.Join(r.names, ", ")
	}
	return nil, wes.Errorf(wes.EINVALID, "unknown executor %q; configured: %s", name, configured)
}

// Names lists the configured executors, sorted.
func (r *Registry) Names() []string { return slices.Clone(r.names) }
