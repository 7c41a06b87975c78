package slurm

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/config/confkit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// params are the executor parameters the slurm executor honours: where the job runs
// (checked against the allow-lists, at POST /runs through the Checker and again at
// Submit) and its resources.
var params = append([]wes.EngineParam{
	{Name: ParamPartition, Type: "string", Help: "batch partition the job runs in (slurm executor; the operators' allow-list applies)"},
	{Name: ParamAccount, Type: "string", Help: "account the job is charged to (slurm executor; the operators' allow-list applies)"},
	{Name: ParamQOS, Type: "string", Help: "quality of service of the job (slurm executor; the operators' allow-list applies)"},
}, wes.ResourceParams...)

// Settings is the slurm executor's section of the configuration file (executor.slurm).
// Each field's yaml tag is its key and its help tag what `enclave config print-default`
// says of it; DefaultSettings has the defaults. The executor is registered only when
// Enabled is true. With workspace "shared" the data directory must be on a file system
// the cluster's nodes share; with "sftp" each run's work directory is copied to
// remote_root over the SSH connection and back.
type Settings struct {
	// Enabled registers the slurm executor. Default false.
	Enabled bool `yaml:"enabled" help:"Register the slurm executor."`
	// Mode is "ssh" (sbatch, squeue, sacct and scancel run on a login node over SSH) or
	// "local" (the worker runs on a login node). Default "ssh".
	Mode string `yaml:"mode" help:"ssh (commands run on a login node over SSH) or local (the worker runs on a login node)."`
	// SSH says how to reach the login node (mode ssh).
	SSH SSHSettings `yaml:"ssh" help:"The SSH connection to the login node (mode ssh)."`
	// Partition, Account and QOS are job defaults; runs may choose others through the
	// allow-listed engine parameters. Default "" (the cluster's defaults).
	Partition string `yaml:"partition" help:"Default partition; \"\" is the cluster's."`
	Account   string `yaml:"account" help:"Default account; \"\" is the cluster's."`
	QOS       string `yaml:"qos" help:"Default QOS; \"\" is the cluster's."`
	// AllowedPartitions, AllowedAccounts and AllowedQOS are the values runs may choose
	// with the engine parameters partition, account and qos; others are refused at
	// POST /runs. Default [] (runs may only name the default).
	AllowedPartitions []string `yaml:"allowed_partitions" help:"Partitions runs may choose with the engine parameter partition; others are refused."`
	AllowedAccounts   []string `yaml:"allowed_accounts" help:"Accounts runs may choose with the engine parameter account; others are refused."`
	AllowedQOS        []string `yaml:"allowed_qos" help:"QOS runs may choose with the engine parameter qos; others are refused."`
	// Workspace is "shared" (data_dir is on a file system the nodes share) or "sftp"
	// (runs are copied to remote_root and back over SSH; mode ssh). Default "shared".
	Workspace string `yaml:"workspace" help:"shared (data_dir is on a file system the nodes share) or sftp (each run is copied to remote_root and back over SSH; mode ssh)."`
	// RemoteRoot is where data_dir's runs live on the cluster with workspace sftp
	// (absolute; "{login}" becomes the job's login). Required for sftp.
	RemoteRoot string `yaml:"remote_root" help:"Where data_dir's runs live on the cluster with workspace sftp (absolute; \"{login}\" becomes the job's login)."`
	// RemoteCleanup removes a run's files from the cluster once it is finalized
	// (workspace sftp). Default true.
	RemoteCleanup bool `yaml:"remote_cleanup" help:"Remove a run's files from the cluster once it is finalized (workspace sftp)."`
	// CollectMaxFiles and CollectMaxBytes bound what is copied back from the cluster per
	// run (workspace sftp); a run over them ends in SYSTEM_ERROR. Defaults 100000 files,
	// 100GiB.
	CollectMaxFiles int              `yaml:"collect_max_files" help:"Most files copied back from the cluster per run (workspace sftp); more is SYSTEM_ERROR."`
	CollectMaxBytes confkit.ByteSize `yaml:"collect_max_bytes" help:"Most bytes copied back from the cluster per run (workspace sftp); more is SYSTEM_ERROR."`
	// Logins maps run owners to cluster logins, as "subject=login" entries (the last
	// "=" separates them). Default []: every job runs as ssh.user. When set, an owner who
	// is not listed cannot run on this executor.
	Logins []string `yaml:"logins" help:"Per-user cluster accounts, \"subject=login\" entries; [] runs every job as ssh.user. Owners not listed cannot use the executor."`
	// LoginKeys gives logins their own private keys, as "login=/path/to/key" entries.
	// Default []: every login uses ssh.key_file.
	LoginKeys []string `yaml:"login_keys" help:"Private keys of logins, \"login=/path/to/key\" entries; [] uses ssh.key_file for every login."`
	// MaxRunning caps the runs with a batch job at once; more wait QUEUED in Enclave.
	// Default 0: no cap (SLURM queues jobs itself).
	MaxRunning int `yaml:"max_running" help:"Runs that may have a batch job at once; more wait QUEUED in Enclave. 0: no cap (SLURM queues jobs itself)."`
}

// SSHSettings is the SSH connection to a SLURM login node (executor.slurm.ssh).
type SSHSettings struct {
	// Addr is host:port of the login node's sshd. Required for mode ssh.
	Addr string `yaml:"addr" help:"host:port of the login node's sshd."`
	// User is the cluster account jobs are submitted as. Required for mode ssh.
	User string `yaml:"user" help:"Cluster account jobs are submitted as."`
	// KeyFile is the private key file (unencrypted). Required for mode ssh.
	KeyFile string `yaml:"key_file" help:"Private key file (unencrypted; keep it readable by the worker only)."`
	// KnownHostsFile lists the login node's host keys; an unlisted key refuses the
	// connection (never ignored). Required for mode ssh.
	KnownHostsFile string `yaml:"known_hosts_file" help:"The login node's host keys; an unlisted key refuses the connection."`
	// KeepAlive is the interval of SSH keep-alive requests. Default 30s.
	KeepAlive time.Duration `yaml:"keep_alive" help:"Interval of SSH keep-alive requests."`
}

// DefaultSettings are the settings of a configuration that says nothing of executor.slurm.
func DefaultSettings() Settings {
	return Settings{Mode: ModeSSH, SSH: SSHSettings{KeepAlive: DefaultKeepAlive},
		AllowedPartitions: []string{}, AllowedAccounts: []string{}, AllowedQOS: []string{},
		Workspace: WorkspaceShared, RemoteCleanup: true, CollectMaxFiles: DefaultCollectMaxFiles,
		CollectMaxBytes: confkit.ByteSize(DefaultCollectMaxBytes), Logins: []string{}, LoginKeys: []string{}}
}

// Validate reports every problem of enabled settings, each a *confkit.FieldError naming
// its key; the keys of a disabled executor are not checked.
func (s Settings) Validate() error {
	if !s.Enabled {
		return nil
	}
	p := confkit.NewProblems("executor." + Name)
	p.OneOf("mode", s.Mode, []string{ModeSSH, ModeLocal})
	if s.Mode == ModeSSH {
		p.HostPort("ssh.addr", s.SSH.Addr)
		p.Check("ssh.user", s.SSH.User != "", "required for mode ssh")
		p.Check("ssh.key_file", s.SSH.KeyFile != "", "required for mode ssh")
		p.Check("ssh.known_hosts_file", s.SSH.KnownHostsFile != "", "required for mode ssh: host keys are always verified")
	}
	for _, l := range []struct {
		key string
		vs  []string
	}{{"allowed_partitions", s.AllowedPartitions}, {"allowed_accounts", s.AllowedAccounts}, {"allowed_qos", s.AllowedQOS}} {
		for i, v := range l.vs {
			p.Check(fmt.Sprintf("%s[%d]", l.key, i), loginPattern.MatchString(v), "must be letters, digits, '.', '_' or '-', not starting with '-'")
		}
	}
	if s.Workspace != "" { // "" is shared, as in Settings built in code
		p.OneOf("workspace", s.Workspace, []string{WorkspaceShared, WorkspaceSFTP})
	}
	if s.Workspace == WorkspaceSFTP {
		p.Check("workspace", s.Mode == ModeSSH, "sftp needs mode ssh")
		root := filepath.Clean(s.RemoteRoot)
		p.Check("remote_root", strings.HasPrefix(s.RemoteRoot, "/") && root != "/" && !strings.ContainsAny(root, "\n\x00"),
			"required for workspace sftp: an absolute directory on the cluster other than /")
		p.AtLeast("collect_max_files", s.CollectMaxFiles, 1)
		p.Check("collect_max_bytes", s.CollectMaxBytes > 0, "must be positive")
	}
	if _, _, err := s.ParseLogins(); err != nil {
		p.Append(err)
	}
	if len(s.Logins) > 0 {
		p.Check("logins", s.Mode == ModeSSH, "per-user logins need mode ssh")
	}
	return p.Err()
}

// ParseLogins returns logins as subject → login and login_keys as login → key file.
// Each problem is a *confkit.FieldError naming the entry.
func (s Settings) ParseLogins() (logins, keys map[string]string, err error) {
	logins, keys = map[string]string{}, map[string]string{}
	for i, e := range s.Logins {
		path := fmt.Sprintf("executor.%s.logins[%d]", Name, i)
		j := strings.LastIndexByte(e, '=')
		if j <= 0 || !loginPattern.MatchString(e[j+1:]) {
			return nil, nil, &confkit.FieldError{Path: path, Msg: `want "subject=login", the login being letters, digits, '.', '_' or '-'`}
		}
		subject := e[:j]
		if _, dup := logins[subject]; dup {
			return nil, nil, &confkit.FieldError{Path: path, Msg: "the subject is mapped twice"}
		}
		logins[subject] = e[j+1:]
	}
	for i, e := range s.LoginKeys {
		path := fmt.Sprintf("executor.%s.login_keys[%d]", Name, i)
		login, key, ok := strings.Cut(e, "=")
		if !ok || !loginPattern.MatchString(login) || key == "" {
			return nil, nil, &confkit.FieldError{Path: path, Msg: `want "login=/path/to/private/key"`}
		}
		if _, dup := keys[login]; dup {
			return nil, nil, &confkit.FieldError{Path: path, Msg: "the login has two keys"}
		}
		keys[login] = key
	}
	return logins, keys, nil
}

// Registered reports whether the server registers the executor: when it is enabled.
func (s Settings) Registered() bool { return s.Enabled }

// Params are the executor parameters the slurm executor honours (params).
func (s Settings) Params() []wes.EngineParam { return params }

// RunLimit is max_running.
func (s Settings) RunLimit() int { return s.MaxRunning }

// ServerPaths are the SSH key and known_hosts files.
func (s Settings) ServerPaths() []string { return []string{s.SSH.KeyFile, s.SSH.KnownHostsFile} }

// Config is the executor's Config for these settings in env; the sftp workspace maps
// data_dir to remote_root.
func (s Settings) Config(env confkit.Env) (Config, error) {
	subjects, keys, err := s.ParseLogins()
	if err != nil {
		return Config{}, err
	}
	var logins map[string]Login
	if len(subjects) > 0 {
		logins = make(map[string]Login, len(subjects))
		for subject, login := range subjects {
			logins[subject] = Login{User: login, KeyFile: keys[login]}
		}
	}
	return Config{
		Mode: s.Mode,
		SSH: SSHConfig{Addr: s.SSH.Addr, User: s.SSH.User, KeyFile: s.SSH.KeyFile,
			KnownHostsFile: s.SSH.KnownHostsFile, KeepAlive: s.SSH.KeepAlive},
		Partition: s.Partition, Account: s.Account, QOS: s.QOS,
		AllowedPartitions: s.AllowedPartitions, AllowedAccounts: s.AllowedAccounts, AllowedQOS: s.AllowedQOS,
		Workspace: s.Workspace, LocalRoot: env.DataDir, RemoteRoot: s.RemoteRoot, KeepRemote: !s.RemoteCleanup,
		CollectMaxFiles: s.CollectMaxFiles, CollectMaxBytes: int64(s.CollectMaxBytes),
		Logins: logins,
		Logger: env.Logger.With("executor", Name),
	}, nil
}

// NewExecutor builds the slurm executor these settings describe (the registry's
// factory); in ssh mode it reads the keys now and connects on first use.
func (s Settings) NewExecutor(_ context.Context, env confkit.Env) (wes.Executor, error) {
	cfg, err := s.Config(env)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// NewSubmitChecker builds the Checker of new runs these settings describe, for an API
// server, which has no executors: it reads no key and contacts no cluster.
func (s Settings) NewSubmitChecker(env confkit.Env) (wes.SubmitChecker, error) {
	cfg, err := s.Config(env)
	if err != nil {
		return nil, err
	}
	return NewChecker(cfg)
}
