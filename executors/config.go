package executors

import (
	"context"
	"errors"
	"fmt"

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

// Validate reports every problem of the executors' settings, each a *confkit.FieldError
// naming its key. Whether Default is registered is the caller's check (it knows the key).
func (c Config) Validate() error {
	var errs []error
	for _, b := range builtins {
		s := b.settings(c)
		errs = append(errs, s.Validate())
		if s.RunLimit() < 0 {
			errs = append(errs, &confkit.FieldError{Path: "executor." + b.name + ".max_running", Msg: "must not be negative: 0 means no limit"})
		}
	}
	return errors.Join(errs...)
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
