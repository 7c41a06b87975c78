// Package executors is the one list of the executor backends this build of Enclave
// ships (builtins below), the executor section of the configuration file made of their
// settings (Config), and the registry that hands a configured executor out by name
// (Registry). Each backend lives in a sub-package that describes itself: its Settings
// (keys, help, defaults, Validate), its factory (Settings.NewExecutor) and the executor
// parameters it honours (Params). Their shared conformance suite is executortest/; fake/
// is a scriptable stand-in for tests and is never configured.
package executors

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spe4hd/enclave/executors/docker"
	"github.com/spe4hd/enclave/executors/kubernetes"
	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/executors/slurm"
	"github.com/spe4hd/enclave/executors/tes"
	"github.com/spe4hd/enclave/pkg/config/confkit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Settings is what the registry needs of an executor's section of the configuration;
// each backend package's Settings type implements it.
type Settings interface {
	// Validate reports every problem, each a *confkit.FieldError naming its key; the keys
	// of an executor that is not registered are not checked.
	Validate() error
	// Registered reports whether a server with these settings has the executor: the
	// local executor always, the others when enabled.
	Registered() bool
	// RunLimit is the executor's max_running: how many of its runs may hold a job at
	// once (0: no limit).
	RunLimit() int
	// ServerPaths are the server's own files the settings name (keys, dataset roots),
	// which no job may see.
	ServerPaths() []string
	// NewExecutor builds the executor (the factory). On error the executor is not to be
	// used.
	NewExecutor(ctx context.Context, env confkit.Env) (wes.Executor, error)
}

// submitCheckerFactory is a Settings of an executor that checks new runs at POST /runs
// (wes.SubmitChecker) without being built, for API servers that run no worker.
type submitCheckerFactory interface {
	NewSubmitChecker(env confkit.Env) (wes.SubmitChecker, error)
}

// builtin is one executor this build ships: its registry name (also the key of its
// section, executor.<name>), the executor parameters it honours, and its settings in
// a Config.
type builtin struct {
	name     string
	params   []wes.EngineParam
	settings func(Config) Settings
}

// builtins are the configurable executors, in the order the documentation lists them:
//
//	local      runs the job's argv on this machine, detached from the worker
//	docker     one container per run on a Docker engine: no network, non-root, read-only root
//	slurm      batch jobs on a SLURM cluster, over SSH or from a login node
//	kubernetes a batch/v1 Job per run
//	tes        a GA4GH TES task per run
var builtins = []builtin{
	{local.Name, local.Params, func(c Config) Settings { return c.Local }},
	{docker.Name, docker.Params, func(c Config) Settings { return c.Docker }},
	{slurm.Name, slurm.Params, func(c Config) Settings { return c.Slurm }},
	{kubernetes.Name, kubernetes.Params, func(c Config) Settings { return c.Kubernetes }},
	{tes.Name, tes.Params, func(c Config) Settings { return c.TES }},
}

// Builtin names the executors this build of Enclave ships: the configurable ones, and
// fake, a scriptable stand-in for tests of the runner and the API (executors/fake).
var Builtin = append(builtinNames(), "fake")

func builtinNames() []string {
	names := make([]string, 0, len(builtins))
	for _, b := range builtins {
		names = append(names, b.name)
	}
	return names
}

// Params are the executor parameters a run may set in workflow_engine_parameters: every
// parameter some built-in executor honours, those particular to some executors first
// (partition, account, qos: SLURM's), then those every executor honours (the job's
// resources). Each name appears once, with the first executor's description.
func Params() []wes.EngineParam {
	var specific, common []wes.EngineParam
	for _, b := range builtins {
		for _, p := range b.params {
			if slices.ContainsFunc(specific, sameName(p)) || slices.ContainsFunc(common, sameName(p)) {
				continue
			}
			if honouredByAll(p.Name) {
				common = append(common, p)
			} else {
				specific = append(specific, p)
			}
		}
	}
	return append(specific, common...)
}

func honouredByAll(name string) bool {
	for _, b := range builtins {
		if !slices.ContainsFunc(b.params, sameName(wes.EngineParam{Name: name})) {
			return false
		}
	}
	return true
}

func sameName(p wes.EngineParam) func(wes.EngineParam) bool {
	return func(o wes.EngineParam) bool { return o.Name == p.Name }
}

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
