package engines

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Discoverer is an optional Engine capability: find the engine versions installed on
// this machine (for example by running `snakemake --version`).
type Discoverer interface {
	Discover(ctx context.Context) ([]string, error)
}

// Registry holds the engines a server offers, in the order they were registered.
// It is read-only after construction and safe for concurrent use.
type Registry struct {
	engines []wes.Engine
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

// Discover asks every engine that can (Discoverer) for its installed versions. An engine
// whose discovery fails is logged and keeps no versions, so runs for it are refused with a
// clear message instead of failing later; Discover itself never fails.
func (r *Registry) Discover(ctx context.Context, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, e := range r.engines {
		d, ok := e.(Discoverer)
		if !ok {
			continue
		}
		vs, err := d.Discover(ctx)
		if err != nil {
			log.Warn("engine version discovery failed; the engine will refuse runs",
				"component", "engines", "engine", e.Name(), "err", err)
			continue
		}
		log.Info("engine versions", "component", "engines", "engine", e.Name(), "versions", vs)
	}
}

// Resolve picks the engine and engine version for a run request.
//
//   - workflowType must be the type of a registered engine (e.g. "SMK", "CWL", "NFL") and
//     typeVersion one of that engine's TypeVersions.
//   - engine "" means the first registered engine for the type; otherwise it must name an
//     engine that runs that type.
//   - engineVersion "" means the newest available version; otherwise it must be one of the
//     engine's Versions.
//
// It returns the engine and the resolved version, or an EINVALID *wes.Error whose message
// names the field and what this server supports.
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
		e = forType[0]
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
