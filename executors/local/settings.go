package local

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/config/confkit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Settings is the local executor's section of the configuration file (executor.local).
// Each field's yaml tag is its key and its help tag what `enclave config print-default`
// says of it; DefaultSettings has the defaults. The local executor is always registered.
type Settings struct {
	// StateDir keeps the executor's job records. Default "": <data_dir>/executor/local.
	StateDir string `yaml:"state_dir" help:"Where the executor keeps job records; \"\" is <data_dir>/executor/local."`
	// Grace is how long a cancelled job gets after SIGTERM before SIGKILL. Default 10s.
	Grace time.Duration `yaml:"grace" help:"Time a cancelled job gets between SIGTERM and SIGKILL."`
	// Confinement is how each job is kept to its own run: required (refuse to start a
	// job that cannot be confined), best-effort (confine with what the machine offers)
	// or off. Confined jobs get Landlock (only the system paths, their work dir, their
	// datasets read-only and a private tmp) and, when the worker is root, mount, pid,
	// net, ipc and uts namespaces and the unprivileged job_user. Default "": required
	// when zone.mode is sealed, best-effort when it is open (see ConfinementIn).
	Confinement string `yaml:"confinement" help:"required, best-effort or off: how each job is kept to its own run (Landlock; as root also mount, pid and network namespaces and job_user). required refuses a job this machine cannot confine. \"\" is required when zone.mode is sealed, best-effort when open."`
	// JobUser is the uid:gid confined jobs run as when the worker is root; their work
	// dir is handed to it and their datasets must be readable by it. Default
	// "61234:61234"; never root.
	JobUser string `yaml:"job_user" help:"uid:gid (numbers, not root) confined jobs run as when the worker is root; datasets must be readable by it."`
	// MaxRunning is how many of this executor's runs may hold a job at once; more wait
	// QUEUED in a line fair across owners (runner/admission.go). 0: no limit. Default 8.
	MaxRunning int `yaml:"max_running" help:"Runs that may hold a job at once; more wait QUEUED, taking turns across owners. 0: no limit."`
}

// DefaultSettings are the settings of a configuration that says nothing of executor.local.
func DefaultSettings() Settings {
	return Settings{Grace: DefaultGrace, JobUser: fmt.Sprintf("%d:%d", DefaultJobUID, DefaultJobGID), MaxRunning: 8}
}

// Confinements are the accepted confinement values ("" is the zone's default).
var Confinements = []string{ConfineRequired, ConfineBestEffort, ConfineOff}

// Validate reports every problem of the settings, each a *confkit.FieldError naming its key.
func (s Settings) Validate() error {
	p := confkit.NewProblems("executor." + Name)
	p.Check("grace", s.Grace >= 0, "must not be negative")
	if s.Confinement != "" {
		p.OneOf("confinement", s.Confinement, Confinements)
	}
	if _, _, err := s.JobIDs(); err != nil {
		p.Add("job_user", "%s", err)
	}
	return p.Err()
}

// Registered is true: every server has the local executor.
func (s Settings) Registered() bool { return true }

// Params are the executor parameters the local executor honours: the job's resources.
func (s Settings) Params() []wes.EngineParam { return wes.ResourceParams }

// RunLimit is max_running.
func (s Settings) RunLimit() int { return s.MaxRunning }

// ServerPaths is nil: the state directory is among the server's own paths already.
func (s Settings) ServerPaths() []string { return nil }

// StateDirIn is state_dir, or <dataDir>/executor/local when it is unset.
func (s Settings) StateDirIn(dataDir string) string {
	if s.StateDir != "" {
		return s.StateDir
	}
	return filepath.Join(dataDir, "executor", Name)
}

// ConfinementIn is confinement, or its default: required in a sealed zone, best-effort
// in an open one (plain WES, where a machine without Landlock should still run jobs).
func (s Settings) ConfinementIn(sealed bool) string {
	switch {
	case s.Confinement != "":
		return s.Confinement
	case sealed:
		return ConfineRequired
	}
	return ConfineBestEffort
}

// JobIDs is job_user as numbers; an error says what is wrong with it.
func (s Settings) JobIDs() (uid, gid int, err error) {
	u, g, ok := strings.Cut(s.JobUser, ":")
	uid, uerr := strconv.Atoi(u)
	gid, gerr := strconv.Atoi(g)
	if !ok || uerr != nil || gerr != nil || uid <= 0 || gid <= 0 {
		return 0, 0, fmt.Errorf("%q must be uid:gid in numbers, neither of them 0 (root), e.g. 61234:61234", s.JobUser)
	}
	return uid, gid, nil
}

// Config is the executor's Config for these settings in env: its state directory made
// absolute, the zone's confinement, the job identity, and the server's own paths, which
// no confined job may see. The shim is this binary (SelfShim).
func (s Settings) Config(env confkit.Env) (Config, error) {
	stateDir, err := filepath.Abs(s.StateDirIn(env.DataDir))
	if err != nil {
		return Config{}, err
	}
	uid, gid, _ := s.JobIDs() // Validate has checked it
	hidden := env.Hidden
	return SelfShim(Config{StateDir: stateDir, Grace: s.Grace, Logger: env.Logger.With("executor", Name),
		Confinement: s.ConfinementIn(env.Sealed), JobUID: uid, JobGID: gid, Hidden: func() []string { return hidden }})
}

// NewExecutor builds the local executor these settings describe (the registry's factory).
func (s Settings) NewExecutor(_ context.Context, env confkit.Env) (wes.Executor, error) {
	cfg, err := s.Config(env)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}
