package config

import (
	"github.com/spe4hd/enclave/executors/docker"
	"github.com/spe4hd/enclave/executors/kubernetes"
	"github.com/spe4hd/enclave/executors/slurm"
	"github.com/spe4hd/enclave/executors/tes"
)

// The executors' settings, under the names this package's tests knew them by when
// pkg/config declared them itself.
type (
	DockerExecutorConfig     = docker.Settings
	SlurmExecutorConfig      = slurm.Settings
	SlurmSSHConfig           = slurm.SSHSettings
	KubernetesExecutorConfig = kubernetes.Settings
	KubernetesVolume         = kubernetes.DatasetVolume
	TESExecutorConfig        = tes.Settings
)
