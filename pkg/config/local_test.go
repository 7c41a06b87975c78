package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestValidateLocal(t *testing.T) {
	for _, tt := range []struct {
		name, confinement, user, want string
	}{
		{"unknown confinement", "strict", "61234:61234", "executor.local.confinement: \"strict\" is not one of required, best-effort, off"},
		{"root uid", "", "0:61234", "executor.local.job_user: \"0:61234\" must be uid:gid"},
		{"root gid", "", "61234:0", "executor.local.job_user"},
		{"names", "", "nobody:nogroup", "executor.local.job_user"},
		{"no gid", "", "61234", "executor.local.job_user"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Executor.Local.Confinement, c.Executor.Local.JobUser = tt.confinement, tt.user
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	for _, ok := range []string{"", "required", "best-effort", "off"} {
		c := Default()
		c.Executor.Local.Confinement = ok
		if err := c.Validate(); err != nil {
			t.Errorf("confinement %q: Validate() = %v", ok, err)
		}
	}
	if uid, gid := Default().LocalJobUser(); uid != 61234 || gid != 61234 {
		t.Errorf("default job user = %d:%d", uid, gid)
	}
}

// The default confinement follows the zone: required when sealed, best-effort when open;
// a value written out wins.
func TestLocalConfinementDefault(t *testing.T) {
	c := Default()
	if got := c.LocalConfinement(); got != "best-effort" {
		t.Errorf("open zone: %q, want best-effort", got)
	}
	c.Zone.Mode = "sealed"
	if got := c.LocalConfinement(); got != "required" {
		t.Errorf("sealed zone: %q, want required", got)
	}
	c.Executor.Local.Confinement = "off"
	if got := c.LocalConfinement(); got != "off" {
		t.Errorf("written out: %q, want off", got)
	}
	c, err := Load(writeFile(t, "zone: {catalog: /etc/enclave/catalog.yaml}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.LocalConfinement(); got != "required" {
		t.Errorf("a file (sealed by default): %q, want required", got)
	}
}

// ServerPaths names the configuration file Load read, and the server's directories.
func TestServerPaths(t *testing.T) {
	path := writeFile(t, "data_dir: /srv/enclave\nzone: {catalog: /etc/enclave/catalog.yaml}\nexecutor: {docker: {dataset_roots: [/data/cohorts]}}\n")
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := c.ServerPaths()
	for _, want := range []string{path, "/etc/enclave/catalog.yaml", "/srv/enclave", "/srv/enclave/executor/local",
		"/srv/enclave/results", "/data/cohorts"} {
		if !slices.Contains(got, filepath.Clean(want)) {
			t.Errorf("ServerPaths() = %v, missing %s", got, want)
		}
	}
	if c.File() != path {
		t.Errorf("File() = %q, want %q", c.File(), path)
	}
}
