package local_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/config/confkit"
)

// The settings' defaults follow the rest of the configuration: the state dir lies in
// data_dir, the confinement is required in a sealed zone, and the server's paths are
// hidden from jobs.
func TestSettingsConfig(t *testing.T) {
	data := t.TempDir()
	env := confkit.Env{DataDir: data, Sealed: true, Hidden: []string{"/etc/enclave"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c, err := local.DefaultSettings().Config(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != filepath.Join(data, "executor", "local") || c.Confinement != local.ConfineRequired ||
		c.JobUID != local.DefaultJobUID || c.Grace != local.DefaultGrace || len(c.Hidden()) != 1 {
		t.Errorf("Config = %+v", c)
	}
	env.Sealed = false
	if c, _ := local.DefaultSettings().Config(env); c.Confinement != local.ConfineBestEffort {
		t.Errorf("open zone: confinement %q, want best-effort", c.Confinement)
	}
	s := local.DefaultSettings()
	s.JobUser = "0:0"
	if err := s.Validate(); err == nil {
		t.Error("job_user 0:0: Validate() = nil")
	}
}
