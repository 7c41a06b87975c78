package config

import (
	"strings"
	"testing"

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

// The executors' keys come from their settings' tags: secrets are redacted, lists are
// copied, and the environment reaches them as it reaches every other key.
func TestExecutorKeysFromTags(t *testing.T) {
	c, err := Load("", []string{"ENCLAVE_EXECUTOR_TES_TOKEN=s3cret", "ENCLAVE_EXECUTOR_TES_PASSWORD=pw",
		"ENCLAVE_EXECUTOR_DOCKER_DATASET_ROOTS=/data/a,/data/b", "ENCLAVE_EXECUTOR_KUBERNETES_MAX_RUNNING=3"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Executor.TES.Token != "s3cret" || len(c.Executor.Docker.DatasetRoots) != 2 || c.MaxRunning()["kubernetes"] != 3 {
		t.Fatalf("loaded %+v", c.Executor)
	}
	r := c.Redacted()
	if r.Executor.TES.Token != RedactedValue || r.Executor.TES.Password != RedactedValue || strings.Contains(r.YAML(), "s3cret") {
		t.Errorf("Redacted() shows executor.tes secrets: token %q, password %q", r.Executor.TES.Token, r.Executor.TES.Password)
	}
	r.Executor.Docker.DatasetRoots[0] = "/changed"
	if c.Executor.Docker.DatasetRoots[0] != "/data/a" {
		t.Error("Redacted shares executor.docker.dataset_roots with the original")
	}
}
