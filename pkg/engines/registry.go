package engines

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Discoverer is an optional Engine capability: find the engine versions installed on
// this machine (for example by running `snakemake --version`).
type Discoverer interface {
	Discover(ctx context.Context) ([]string, error)
}

// Registry holds the engines a server offers, in the order they were registered, and
// whether each can take runs now (see State, Watch). Its list of engines is fixed at
// construction; it is safe for concurrent use.
type Registry struct {
	engines []wes.Engine

	mu      sync.RWMutex
	probes  map[string]Probe         // by engine name
	status  map[string]status        // by engine name; an engine without one is ready
	waiters map[string]chan struct{} // by engine name: closed when it becomes ready
}

// NewRegistry returns a registry of es. Nil engines are ignored. When two engines share a
// name, the first one wins, so a configuration can override a built-in by listing it first.
func NewRegistry(es ...wes.Engine) *Registry {
	r := &Registry{}
	for _, e := range es {
		if e == nil {
			continue
		}
		if _, dup := r.ByName(e.Name()); dup {
			continue
		}
		r.engines = append(r.engines, e)
	}
	return r
}

// All returns the registered engines in registration order. The slice is a copy.
func (r *Registry) All() []wes.Engine { return slices.Clone(r.engines) }

// ByName returns the engine called name (as clients send it in workflow_engine).
func (r *Registry) ByName(name string) (wes.Engine, bool) {
	for _, e := range r.engines {
		if e.Name() == name {
			return e, true
		}
	}
	return nil, false
}

// Resolve picks the engine and engine version for a run request.
//
//   - workflowType must be the type of a registered engine (e.g. "SMK", "CWL", "NFL") and
//     typeVersion one of that engine's TypeVersions.
//   - engine "" means the first registered engine for the type that is ready (else the
//     first one); otherwise it must name an engine that runs that type.
//   - the engine must be ready (State): one still being checked or failing its check is
//     an EUNAVAILABLE *RetryError (the server's condition, not the client's), an absent
//     one EINVALID naming the engines that are installed.
//   - engineVersion "" means the newest available version; otherwise it must be one of the
//     engine's Versions.
//
// It returns the engine and the resolved version, or an error whose message names the
// field and what this server supports.
func (r *Registry) Resolve(workflowType, typeVersion, engine, engineVersion string) (wes.Engine, string, error) {
	if workflowType == "" {
		return nil, "", wes.Errorf(wes.EINVALID, "workflow_type is required; supported: %s", r.typesList())
	}
	var forType []wes.Engine
	for _, e := range r.engines {
		if e.WorkflowType() == workflowType {
			forType = append(forType, e)
		}
	}
	if len(forType) == 0 {
		return nil, "", wes.Errorf(wes.EINVALID, "workflow_type %s is not supported; supported: %s",
			quoteInput(workflowType), r.typesList())
	}

	var e wes.Engine
	if engine == "" {
		e = r.preferred(forType)
	} else {
		for _, c := range forType {
			if c.Name() == engine {
				e = c
				break
			}
		}
		if e == nil {
			return nil, "", wes.Errorf(wes.EINVALID, "workflow_engine %s cannot run workflow_type %s; supported: %s",
				quoteInput(engine), workflowType, joinNames(forType))
		}
	}

	if !slices.Contains(e.TypeVersions(), typeVersion) {
		what := "workflow_type_version is required"
		if typeVersion != "" {
			what = "workflow_type_version " + quoteInput(typeVersion) + " is not supported"
		}
		return nil, "", wes.Errorf(wes.EINVALID, "%s for %s; supported: %s",
			what, workflowType, strings.Join(e.TypeVersions(), ", "))
	}

	if st := r.stateOf(e.Name()); st.state != StateReady {
		return nil, "", r.unready(e, st)
	}
	versions := e.Versions()
	if len(versions) == 0 {
		return nil, "", wes.Errorf(wes.EINVALID, "workflow_engine %s has no version available on this server; choose another engine or ask the operators",
			e.Name())
	}
	if engineVersion == "" {
		return e, Newest(versions), nil
	}
	if !slices.Contains(versions, engineVersion) {
		return nil, "", wes.Errorf(wes.EINVALID, "workflow_engine_version %s of %s is not available; available: %s",
			quoteInput(engineVersion), e.Name(), strings.Join(versions, ", "))
	}
	return e, engineVersion, nil
}

// preferred is the first ready engine of es, else the first one.
func (r *Registry) preferred(es []wes.Engine) wes.Engine {
	for _, e := range es {
		if r.State(e.Name()) == StateReady {
			return e
		}
	}
	return es[0]
}

// typesList describes every supported type, e.g. "CWL (v1.0, v1.2), SMK (1.0)".
func (r *Registry) typesList() string {
	if len(r.engines) == 0 {
		return "none (no engine is configured)"
	}
	var parts []string
	seen := map[string]bool{}
	for _, e := range r.engines {
		if seen[e.WorkflowType()] {
			continue
		}
		seen[e.WorkflowType()] = true
		parts = append(parts, e.WorkflowType()+" ("+strings.Join(e.TypeVersions(), ", ")+")")
	}
	return strings.Join(parts, ", ")
}

func joinNames(es []wes.Engine) string {
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name()
	}
	return strings.Join(names, ", ")
}

// quoteInput quotes a client-supplied value for an error message, cut short so a huge
// value cannot bloat the response.
func quoteInput(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}
