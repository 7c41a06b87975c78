package slurm

import (
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/config/confkit"
)

// The settings become the executor's Config: logins with their keys, remote_cleanup as
// KeepRemote, data_dir as the sftp workspace's local root.
func TestSettingsConfig(t *testing.T) {
	s := DefaultSettings()
	s.Enabled, s.Workspace, s.RemoteRoot = true, WorkspaceSFTP, "/scratch/{login}"
	s.SSH = SSHSettings{Addr: "login:22", User: "enclave", KeyFile: "/k", KnownHostsFile: "/kh", KeepAlive: DefaultKeepAlive}
	s.Logins, s.LoginKeys = []string{"alice@example.org=alice", "bob=bob"}, []string{"bob=/k/bob"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := s.Config(confkit.Env{DataDir: "/srv/enclave", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Login{"alice@example.org": {User: "alice"}, "bob": {User: "bob", KeyFile: "/k/bob"}}
	if !maps.Equal(c.Logins, want) || c.KeepRemote || c.LocalRoot != "/srv/enclave" || c.CollectMaxBytes != DefaultCollectMaxBytes ||
		c.SSH.KnownHostsFile != "/kh" || c.Mode != ModeSSH {
		t.Errorf("Config = %+v", c)
	}
	if got := s.ServerPaths(); len(got) != 2 || got[0] != "/k" || got[1] != "/kh" {
		t.Errorf("ServerPaths() = %v", got)
	}
}

// A disabled executor's keys are not checked; an enabled one's are, by key.
func TestSettingsValidate(t *testing.T) {
	s := DefaultSettings()
	if err := s.Validate(); err != nil {
		t.Errorf("disabled: Validate() = %v", err)
	}
	s.Enabled = true
	err := s.Validate()
	for _, want := range []string{"executor.slurm.ssh.addr: ", "executor.slurm.ssh.known_hosts_file: "} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("enabled without ssh: Validate() = %v, missing %q", err, want)
		}
	}
}
