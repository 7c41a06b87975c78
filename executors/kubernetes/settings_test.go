package kubernetes

import (
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/config/confkit"
)

// The settings become the executor's Config: data_dir is the data volume's zone path,
// dataset entries become volumes, node_selector a map, the TTL whole seconds.
func TestSettingsConfig(t *testing.T) {
	s := DefaultSettings()
	s.Enabled, s.Namespace, s.Image, s.DataClaim = true, "jobs", "engines:1", "data"
	s.Datasets = []string{"/zone/a=pvc:ds:v1", "/zone/b=host:/mnt/b"}
	s.NodeSelector = []string{"pool=jobs"}
	s.TTLAfterFinished = 90 * time.Minute
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := s.Config(confkit.Env{DataDir: "/srv/enclave", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != (Volume{MountPath: "/srv/enclave", ClaimName: "data"}) || c.NodeSelector["pool"] != "jobs" || c.TTLSecondsAfterFinished != 5400 ||
		c.RunAsUser != 65534 || c.ImagePullPolicy != "IfNotPresent" || c.Grace != DefaultGrace {
		t.Errorf("Config = %+v", c)
	}
	want := []Volume{{MountPath: "/zone/a", ClaimName: "ds", SubPath: "v1"}, {MountPath: "/zone/b", HostPath: "/mnt/b"}}
	if !slices.Equal(c.Datasets, want) {
		t.Errorf("Datasets = %+v, want %+v", c.Datasets, want)
	}
	s.Datasets = []string{"/zone/a=nfs:x"}
	if _, err := s.Config(confkit.Env{}); err == nil {
		t.Error("Config with a bad dataset entry: no error")
	}
}
