package slurm

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"time"

	"github.com/spe4hd/enclave/executors/internal/defaults"
)

// Name is the SLURM executor's registry name.
const Name = "slurm"

// Modes of reaching the cluster.
const (
	ModeSSH   = "ssh"   // run the SLURM commands on a login node over SSH
	ModeLocal = "local" // run them on this machine (the worker is on a login node)
)

// Defaults.
const (
	DefaultKeepAlive   = 30 * time.Second
	DefaultDialTimeout = 10 * time.Second
	DefaultMaxSessions = 8
)

// SSHConfig says how to reach the login node.
type SSHConfig struct {
	Addr string // host:port of the login node's sshd. Required.
	User string // the account jobs are submitted (and run) as. Required.
	// KeyFile is the private key (OpenSSH or PEM format, unencrypted). Required.
	KeyFile string
	// KnownHostsFile lists the login node's host keys (OpenSSH known_hosts format).
	// Required: a host key that is not listed refuses the connection.
	KnownHostsFile string
	// KeepAlive is the interval of keep-alive requests on the shared connection.
	// Default DefaultKeepAlive; a negative value turns them off.
	KeepAlive time.Duration
	// DialTimeout bounds connecting and the SSH handshake. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// MaxSessions bounds the commands running at once on the shared connection; keep it
	// at or below the server's MaxSessions (OpenSSH: 10). Default DefaultMaxSessions.
	MaxSessions int
}

// Config configures the SLURM executor. New never reads the environment itself.
type Config struct {
	Mode string    // ModeSSH or ModeLocal. Required.
	SSH  SSHConfig // ModeSSH only

	// Partition, Account and QOS are the defaults for jobs whose Params do not name one
	// ("partition", "account", "qos"). Empty: the cluster's default.
	Partition string
	Account   string
	QOS       string

	// AllowedPartitions, AllowedAccounts and AllowedQOS are the values a job may choose
	// through its Params ("partition", "account", "qos": the executor parameters a run
	// sets in workflow_engine_parameters). A value not listed is refused (EINVALID at
	// Submit, and at POST /runs through CheckSubmit); with an empty list a job may only
	// name the configured default. Each entry must look like a SLURM name.
	AllowedPartitions, AllowedAccounts, AllowedQOS []string

	// WorkRoot, when set, is the cluster directory every job's WorkDir, Stdout and
	// Stderr must lie under (absolute; with WorkspaceSFTP, checked on the cluster paths).
	WorkRoot string

	// Workspace says how the job's files reach the cluster: WorkspaceShared (default: the
	// worker and the cluster share a file system; paths are the same on both sides) or
	// WorkspaceSFTP (Submit uploads the work directory over the SSH connection, Collect
	// brings it back; ModeSSH only). See workspace.go.
	Workspace string
	// LocalRoot is the worker's directory of run files (Enclave's data_dir) whose paths
	// are mapped to RemoteRoot. Required for WorkspaceSFTP (absolute).
	LocalRoot string
	// RemoteRoot is where LocalRoot's runs live on the cluster (absolute). "{login}" in it
	// is replaced by the job's login (Logins), e.g. "/scratch/{login}/enclave". Required
	// for WorkspaceSFTP.
	RemoteRoot string
	// KeepRemote leaves a run's files on the cluster after Cleanup. Default false: the
	// cluster copy of the run directory is removed once the run is finalized.
	KeepRemote bool
	// CollectMaxFiles and CollectMaxBytes bound what Collect copies back per run (files
	// and bytes, logs included). Defaults DefaultCollectMaxFiles, DefaultCollectMaxBytes.
	CollectMaxFiles int
	CollectMaxBytes int64

	// Logins maps a run owner's subject (wes.Job.Owner) to the cluster login its jobs run
	// as. Empty: every job runs as SSH.User. When set, a job whose owner is not listed is
	// refused, and the handle records the login so that status and cancel use it too.
	// ModeSSH only.
	Logins map[string]Login

	// Command paths on the cluster. Defaults: "sbatch", "squeue", "scontrol", "sacct",
	// "scancel" (found on the login shell's PATH).
	SbatchPath, SqueuePath, ScontrolPath, SacctPath, ScancelPath string

	// Location is the time zone of the times SLURM prints (it prints no zone).
	// Default: time.Local.
	Location *time.Location

	// LocalPath is the PATH of the SLURM commands in ModeLocal, which run with only
	// PATH, HOME, LANG (and SLURM_CONF when set) of the worker's environment, so that no
	// secret of the worker reaches a job through sbatch's environment export.
	// Default: DefaultPath.
	LocalPath string

	Logger *slog.Logger // Default: discard.
}

// Login is the cluster account of one run owner.
type Login struct {
	User    string // the login name. Required.
	KeyFile string // its private key; "" uses SSH.KeyFile
}

// Workspaces (Config.Workspace).
const (
	WorkspaceShared = "shared"
	WorkspaceSFTP   = "sftp"
)

// Collect limits.
const (
	DefaultCollectMaxFiles       = 100_000
	DefaultCollectMaxBytes int64 = 100 << 30
)

// DefaultPath is the PATH of the SLURM commands in ModeLocal unless Config.LocalPath says otherwise.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// namePattern is what partition, account and QOS names may look like: no option
// injection (no leading '-'), no separators, nothing a shell would care about.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (c Config) withDefaults() (Config, error) {
	var errs []error
	switch c.Mode {
	case ModeSSH:
		s := &c.SSH
		if s.Addr == "" {
			errs = append(errs, errors.New("slurm executor: SSH.Addr is required in ssh mode"))
		}
		if s.User == "" {
			errs = append(errs, errors.New("slurm executor: SSH.User is required in ssh mode"))
		}
		if s.KeyFile == "" {
			errs = append(errs, errors.New("slurm executor: SSH.KeyFile is required in ssh mode"))
		}
		if s.KnownHostsFile == "" {
			errs = append(errs, errors.New("slurm executor: SSH.KnownHostsFile is required in ssh mode (host keys are always verified)"))
		}
		if s.KeepAlive == 0 {
			s.KeepAlive = DefaultKeepAlive
		}
		if s.DialTimeout <= 0 {
			s.DialTimeout = DefaultDialTimeout
		}
		if s.MaxSessions <= 0 {
			s.MaxSessions = DefaultMaxSessions
		}
	case ModeLocal:
	default:
		errs = append(errs, fmt.Errorf("slurm executor: Mode %q: want %q or %q", c.Mode, ModeSSH, ModeLocal))
	}
	for _, f := range []struct{ name, v string }{{"Partition", c.Partition}, {"Account", c.Account}, {"QOS", c.QOS}} {
		if f.v != "" && !namePattern.MatchString(f.v) {
			errs = append(errs, fmt.Errorf("slurm executor: %s %q: want letters, digits, '.', '_' or '-'", f.name, f.v))
		}
	}
	errs = append(errs, c.checkAllowLists()...)
	errs = append(errs, c.checkWorkspace()...)
	errs = append(errs, c.checkLogins()...)
	if c.WorkRoot != "" {
		if !filepath.IsAbs(c.WorkRoot) {
			errs = append(errs, fmt.Errorf("slurm executor: WorkRoot %q must be an absolute path", c.WorkRoot))
		}
		c.WorkRoot = filepath.Clean(c.WorkRoot)
	}
	for _, p := range []struct {
		field *string
		def   string
	}{{&c.SbatchPath, "sbatch"}, {&c.SqueuePath, "squeue"}, {&c.ScontrolPath, "scontrol"}, {&c.SacctPath, "sacct"}, {&c.ScancelPath, "scancel"}} {
		if *p.field == "" {
			*p.field = p.def
		}
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.LocalPath == "" {
		c.LocalPath = DefaultPath
	}
	defaults.Logger(&c.Logger)
	return c, errors.Join(errs...)
}
