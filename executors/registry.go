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

	"github.com/spe4hd/enclave/executors/docker"
	"github.com/spe4hd/enclave/executors/kubernetes"
	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/executors/slurm"
	"github.com/spe4hd/enclave/executors/tes"
	"github.com/spe4hd/enclave/pkg/config/confkit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Config is the executor section of the configuration file (pkg/config embeds it as
// Config.Executor): the executor runs use, and each built-in executor's own settings
// under its name. Each field's yaml tag is its key and its help tag what `enclave config
// print-default` says of it.
type Config struct {
	// Default is the executor runs use. Default "local".
	Default    string              `yaml:"default" help:"Executor that runs use."`
	Local      local.Settings      `yaml:"local" help:"The local executor: processes on this machine."`
	Docker     docker.Settings     `yaml:"docker" help:"The docker executor: one container per run on a Docker engine on this machine (no network, non-root, read-only root file system)."`
	Slurm      slurm.Settings      `yaml:"slurm" help:"The slurm executor: batch jobs on a SLURM cluster; data_dir is shared with the nodes, or copied over SFTP (workspace)."`
	Kubernetes kubernetes.Settings `yaml:"kubernetes" help:"The kubernetes executor: a batch/v1 Job per run; data_dir is where the data volume is mounted."`
	TES        tes.Settings        `yaml:"tes" help:"The tes executor: a GA4GH TES task per run; the TES server sees data_dir at the same path."`
}

// DefaultConfig is the executor section of a configuration that says nothing of it:
// the local executor, the others off, each with its defaults.
func DefaultConfig() Config {
	return Config{Default: local.Name, Local: local.DefaultSettings(), Docker: docker.DefaultSettings(),
		Slurm: slurm.DefaultSettings(), Kubernetes: kubernetes.DefaultSettings(), TES: tes.DefaultSettings()}
}

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
	// Params are the executor parameters it honours: workflow_engine_parameters that
	// reach it in Job.Params or Job.Resources.
	Params() []wes.EngineParam
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
// section, executor.<name>) and its settings in a Config.
type builtin struct {
	name     string
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
	{local.Name, func(c Config) Settings { return c.Local }},
	{docker.Name, func(c Config) Settings { return c.Docker }},
	{slurm.Name, func(c Config) Settings { return c.Slurm }},
	{kubernetes.Name, func(c Config) Settings { return c.Kubernetes }},
	{tes.Name, func(c Config) Settings { return c.TES }},
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
		for _, p := range b.settings(Config{}).Params() {
			switch {
			case hasParam(specific, p.Name) || hasParam(common, p.Name):
			case honouredByAll(p.Name):
				common = append(common, p)
			default:
				specific = append(specific, p)
			}
		}
	}
	return append(specific, common...)
}

func honouredByAll(name string) bool {
	for _, b := range builtins {
		if !hasParam(b.settings(Config{}).Params(), name) {
			return false
		}
	}
	return true
}

func hasParam(ps []wes.EngineParam, name string) bool {
	return slices.ContainsFunc(ps, func(p wes.EngineParam) bool { return p.Name == name })
}

// Validate reports every problem of the executors' settings, each a *confkit.FieldError
// naming its key. Whether Default is registered is the caller's check (it knows the key).
func (c Config) Validate() error {
	p := confkit.NewProblems("executor")
	for _, b := range builtins {
		s := b.settings(c)
		p.Append(s.Validate())
		p.Check(b.name+".max_running", s.RunLimit() >= 0, "must not be negative: 0 means no limit")
	}
	return p.Err()
}

// Enabled lists the executors a server with this configuration registers, in the order
// of the documentation: local always, the others when enabled.
func (c Config) Enabled() []string {
	var names []string
	for _, b := range builtins {
		if b.settings(c).Registered() {
			names = append(names, b.name)
		}
	}
	return names
}

// MaxRunning is each executor's max_running, by name, enabled or not.
func (c Config) MaxRunning() map[string]int {
	out := make(map[string]int, len(builtins))
	for _, b := range builtins {
		out[b.name] = b.settings(c).RunLimit()
	}
	return out
}

// ServerPaths are the server's own files the executors' settings name, enabled or not.
func (c Config) ServerPaths() []string {
	var out []string
	for _, b := range builtins {
		out = append(out, b.settings(c).ServerPaths()...)
	}
	return out
}

// Open builds the registered executors (validate c first). An error names the
// executor's section.
func (c Config) Open(ctx context.Context, env confkit.Env) (*Registry, error) {
	var es []wes.Executor
	for _, b := range builtins {
		s := b.settings(c)
		if !s.Registered() {
			continue
		}
		e, err := s.NewExecutor(ctx, env)
		if err != nil {
			closeAll(es)
			return nil, fmt.Errorf("executor.%s: %w", b.name, err)
		}
		es = append(es, e)
	}
	return NewRegistry(es...), nil
}

// SubmitCheckers are the registered executors' checks of new runs for the API
// (wes.SubmitChecker), by name, built from the configuration alone: an API server
// without a worker has no executors.
func (c Config) SubmitCheckers(env confkit.Env) (map[string]wes.SubmitChecker, error) {
	out := map[string]wes.SubmitChecker{}
	for _, b := range builtins {
		f, ok := b.settings(c).(submitCheckerFactory)
		if !ok || !b.settings(c).Registered() {
			continue
		}
		sc, err := f.NewSubmitChecker(env)
		if err != nil {
			return nil, fmt.Errorf("executor.%s: %w", b.name, err)
		}
		out[b.name] = sc
	}
	return out, nil
}

// closeAll releases what executors built before a failure hold (SSH connections,
// Docker clients).
func closeAll(es []wes.Executor) {
	for _, e := range es {
		if c, ok := e.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}
