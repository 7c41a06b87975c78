package config

import (
	"log/slog"

	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/pkg/config/confkit"
)

// ExecutorConfig is the executor section: the executor registry's Config, made of each
// executor package's own Settings (keys, help, defaults and validation live there).
type ExecutorConfig = executors.Config

// EnabledExecutors lists the executors this configuration registers: local always,
// docker, slurm, kubernetes and tes when enabled.
func (c Config) EnabledExecutors() []string { return c.Executor.Enabled() }

// ExecutorEnv is what the executors' factories learn from the rest of the configuration
// (call it once data_dir is absolute).
func (c Config) ExecutorEnv(log *slog.Logger) confkit.Env {
	return confkit.Env{DataDir: c.DataDir, Sealed: c.Zone.Mode == "sealed", Hidden: c.ServerPaths(), Logger: log}
}
