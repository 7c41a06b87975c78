package tes

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/spe4hd/enclave/pkg/config/confkit"
)

// Without allowed_dirs the TES server may reach data_dir only.
func TestSettingsConfig(t *testing.T) {
	s := DefaultSettings()
	s.Enabled, s.URL, s.Image = true, "https://tes.internal/ga4gh/tes/v1", "engines:1"
	env := confkit.Env{DataDir: "/srv/enclave", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if c := s.Config(env); !slices.Equal(c.AllowedDirs, []string{"/srv/enclave"}) || c.Timeout != DefaultTimeout || c.URL != s.URL {
		t.Errorf("Config = %+v", c)
	}
	s.AllowedDirs = []string{"/zone"}
	if c := s.Config(env); !slices.Equal(c.AllowedDirs, []string{"/zone"}) {
		t.Errorf("AllowedDirs = %v, want the configured [/zone]", c.AllowedDirs)
	}
}
