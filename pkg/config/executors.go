package config

import (
	"log/slog"

	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/executors/docker"
	"github.com/spe4hd/enclave/executors/kubernetes"
	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/executors/slurm"
	"github.com/spe4hd/enclave/executors/tes"
	"github.com/spe4hd/enclave/pkg/config/confkit"
)

// ExecutorConfig is the executor section: the executor registry's Config, made of each
// executor package's own Settings (keys, help, defaults and validation live there).
type ExecutorConfig = executors.Config

// The executors' settings under the names this package gave them.
type (
	LocalExecutorConfig      = local.Settings
	DockerExecutorConfig     = docker.Settings
	SlurmExecutorConfig      = slurm.Settings
	SlurmSSHConfig           = slurm.SSHSettings
	KubernetesExecutorConfig = kubernetes.Settings
	KubernetesVolume         = kubernetes.DatasetVolume
	TESExecutorConfig        = tes.Settings
)

// EnabledExecutors lists the executors this configuration registers: local always,
// docker, slurm, kubernetes and tes when enabled.
func (c Config) EnabledExecutors() []string { return c.Executor.Enabled() }

// ExecutorEnv is what the executors' factories learn from the rest of the configuration
// (call it once data_dir is absolute).
func (c Config) ExecutorEnv(log *slog.Logger) confkit.Env {
	return confkit.Env{DataDir: c.DataDir, Sealed: c.Zone.Mode == "sealed", Hidden: c.ServerPaths(), Logger: log}
}
