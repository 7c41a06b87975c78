package config

import (
	"maps"
	"strings"
	"testing"
)

func slurmBase() Config {
	c := Default()
	c.Executor.Default = "slurm"
	c.Executor.Slurm.Enabled = true
	c.Executor.Slurm.SSH = SlurmSSHConfig{Addr: "login.hpc.example.org:22", User: "enclave", KeyFile: "/k", KnownHostsFile: "/kh"}
	return c
}

func TestValidateSlurm(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(s *SlurmExecutorConfig)
		path string // "" = valid
	}{
		{"defaults", func(s *SlurmExecutorConfig) {}, ""},
		{"sftp", func(s *SlurmExecutorConfig) { s.Workspace, s.RemoteRoot = "sftp", "/scratch/{login}/enclave" }, ""},
		{"sftp without remote_root", func(s *SlurmExecutorConfig) { s.Workspace = "sftp" }, "executor.slurm.remote_root"},
		{"sftp remote_root /", func(s *SlurmExecutorConfig) { s.Workspace, s.RemoteRoot = "sftp", "/" }, "executor.slurm.remote_root"},
		{"sftp relative remote_root", func(s *SlurmExecutorConfig) { s.Workspace, s.RemoteRoot = "sftp", "enclave" }, "executor.slurm.remote_root"},
		{"sftp in local mode", func(s *SlurmExecutorConfig) { s.Mode, s.Workspace, s.RemoteRoot = "local", "sftp", "/x/y" }, "executor.slurm.workspace"},
		{"sftp no file limit", func(s *SlurmExecutorConfig) { s.Workspace, s.RemoteRoot, s.CollectMaxFiles = "sftp", "/x/y", 0 }, "executor.slurm.collect_max_files"},
		{"unknown workspace", func(s *SlurmExecutorConfig) { s.Workspace = "nfs" }, "executor.slurm.workspace"},
		{"bad partition", func(s *SlurmExecutorConfig) { s.AllowedPartitions = []string{"debug", "-x"} }, "executor.slurm.allowed_partitions[1]"},
		{"bad qos", func(s *SlurmExecutorConfig) { s.AllowedQOS = []string{"a b"} }, "executor.slurm.allowed_qos[0]"},
		{"logins", func(s *SlurmExecutorConfig) {
			s.Logins = []string{"alice@example.org=alice", "x=y=bob"}
			s.LoginKeys = []string{"bob=/etc/enclave/bob.key"}
		}, ""},
		{"login without =", func(s *SlurmExecutorConfig) { s.Logins = []string{"alice"} }, "executor.slurm.logins[0]"},
		{"login as option", func(s *SlurmExecutorConfig) { s.Logins = []string{"alice=-oProxyCommand"} }, "executor.slurm.logins[0]"},
		{"subject twice", func(s *SlurmExecutorConfig) { s.Logins = []string{"a=x", "a=y"} }, "executor.slurm.logins[1]"},
		{"key without path", func(s *SlurmExecutorConfig) { s.LoginKeys = []string{"bob="} }, "executor.slurm.login_keys[0]"},
		{"logins in local mode", func(s *SlurmExecutorConfig) { s.Mode, s.Logins = "local", []string{"a=x"} }, "executor.slurm.logins"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := slurmBase()
			tt.edit(&c.Executor.Slurm)
			err := c.Validate()
			if tt.path == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.path+":") {
				t.Fatalf("Validate = %v; want an error at %s", err, tt.path)
			}
		})
	}
}

func TestParseLogins(t *testing.T) {
	s := SlurmExecutorConfig{Logins: []string{"alice@example.org=alice", "b=64==bob"}, LoginKeys: []string{"bob=/k/bob=1"}}
	logins, keys, err := s.ParseLogins()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"alice@example.org": "alice", "b=64=": "bob"}; !maps.Equal(logins, want) {
		t.Errorf("logins = %v, want %v", logins, want)
	}
	if want := map[string]string{"bob": "/k/bob=1"}; !maps.Equal(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
}

// The sftp keys load from the environment as from a file.
func TestSlurmKeysFromEnv(t *testing.T) {
	c, err := Load("", []string{
		"ENCLAVE_EXECUTOR_SLURM_WORKSPACE=sftp", "ENCLAVE_EXECUTOR_SLURM_REMOTE_ROOT=/scratch/enclave",
		"ENCLAVE_EXECUTOR_SLURM_ALLOWED_PARTITIONS=debug, gpu", "ENCLAVE_EXECUTOR_SLURM_COLLECT_MAX_BYTES=1GiB",
		"ENCLAVE_EXECUTOR_SLURM_REMOTE_CLEANUP=false", "ENCLAVE_EXECUTOR_SLURM_LOGINS=anonymous=alice",
	})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Executor.Slurm
	if s.Workspace != "sftp" || s.RemoteRoot != "/scratch/enclave" || len(s.AllowedPartitions) != 2 || s.AllowedPartitions[1] != "gpu" ||
		s.CollectMaxBytes != 1<<30 || s.RemoteCleanup || len(s.Logins) != 1 {
		t.Errorf("loaded %+v", s)
	}
}
