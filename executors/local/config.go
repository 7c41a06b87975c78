package local

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/spe4hd/enclave/executors/internal/defaults"
)

// Name is the local executor's registry name.
const Name = "local"

// DefaultPath is the PATH jobs get unless Config.JobPath says otherwise.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultGrace is the default time between SIGTERM and SIGKILL.
const DefaultGrace = 10 * time.Second

// Config configures the local executor. New never reads the environment itself.
type Config struct {
	// StateDir holds one sub-directory per job (its spec, supervisor identity, exit
	// status). Required, absolute; created (mode 0700) if missing. It must survive worker
	// restarts and be shared by every worker on this machine, so keep it out of /tmp
	// when /tmp is cleared on restart.
	StateDir string
	// ShimCommand starts the supervisor ("shim"): a command that ends up calling
	// ShimMain with the arguments appended to it. Default: this executable followed by
	// "executor-shim" (the enclave binary routes `enclave executor-shim ...` to ShimMain).
	// The first element is made absolute at New.
	ShimCommand []string
	// ShimEnv is the whole environment of the shim (KEY=VALUE). Default: empty, so
	// that nothing of the worker's environment, secrets included, reaches the shim or
	// the job. Tests use it to route their own binary to ShimMain.
	ShimEnv []string
	// JobPath is the PATH jobs run with (and that resolves a job's argv[0]).
	// Default: DefaultPath.
	JobPath string
	// Grace is how long a job has after SIGTERM (on Cancel or at its time limit)
	// before SIGKILL. Default: DefaultGrace. Cancel may block for up to about this long.
	Grace time.Duration
	// Logger receives the executor's logs. Default: discard.
	Logger *slog.Logger

	// Confinement is ConfineRequired, ConfineBestEffort or ConfineOff (see confine.go and
	// doc.go). Default: ConfineOff, so that a library user opts in; the server's
	// configuration (executor.local.confinement) defaults to required in a sealed zone
	// and best-effort otherwise.
	Confinement string
	// JobUID and JobGID are the identity of confined jobs when the worker runs as root
	// (the work dir is handed to it). Default: DefaultJobUID, DefaultJobGID; never 0.
	JobUID, JobGID int
	// ReadOnly are the system paths a confined job may read and execute. Default:
	// DefaultReadOnly (those of them that exist), plus the absolute entries of JobPath.
	ReadOnly []string
	// Hidden, when set, returns paths a confined job must never see even where they lie
	// inside ReadOnly (the server's configuration, catalogue, data and results dirs,
	// keys). StateDir is always hidden. Called at each Submit.
	Hidden func() []string
}

// withDefaults fills in defaults and validates; every problem is reported with its field.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.StateDir == "" {
		errs = append(errs, errors.New("local executor: StateDir is required"))
	} else if !filepath.IsAbs(c.StateDir) {
		errs = append(errs, fmt.Errorf("local executor: StateDir %q must be an absolute path", c.StateDir))
	} else {
		c.StateDir = filepath.Clean(c.StateDir)
	}
	if len(c.ShimCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			errs = append(errs, fmt.Errorf("local executor: ShimCommand: cannot find this executable: %w", err))
		}
		c.ShimCommand = []string{exe, "executor-shim"}
	} else {
		c.ShimCommand = slices.Clone(c.ShimCommand)
	}
	if p := c.ShimCommand[0]; p != "" && !filepath.IsAbs(p) {
		abs, err := filepath.Abs(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("local executor: ShimCommand[0]: %w", err))
		}
		c.ShimCommand[0] = abs
	}
	if c.ShimCommand[0] == "" {
		errs = append(errs, errors.New("local executor: ShimCommand[0] is empty"))
	}
	if c.ShimEnv == nil {
		c.ShimEnv = []string{} // non-nil: os/exec treats a nil Env as "inherit everything"
	}
	if c.JobPath == "" {
		c.JobPath = DefaultPath
	}
	errs = append(errs, defaults.Duration(&c.Grace, DefaultGrace, "local executor: Grace"))
	errs = append(errs, c.confinementDefaults()...)
	defaults.Logger(&c.Logger)
	if _, err := bootID(); err != nil {
		errs = append(errs, fmt.Errorf("local executor: needs Linux /proc: %w", err))
	}
	return c, errors.Join(errs...)
}

// Executor is the local executor. It keeps no state in memory: everything lives in the
// state directory and the handle, so any instance on this machine can take a job over.
type Executor struct {
	cfg Config
	log *slog.Logger

	shimMu sync.Mutex // serialises the check of the shim command
	shimOK bool       // the shim command answered its probe; see checkShim

	abilities abilities // what this machine offers to confine jobs, probed at New
}

// New validates cfg, creates the state directory and returns the executor.
func New(cfg Config) (*Executor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("local executor: StateDir: %w", err)
	}
	e := &Executor{cfg: cfg, log: cfg.Logger.With("executor", Name)}
	if cfg.Confinement != ConfineOff {
		e.abilities = probeAbilities()
		e.logAbilities()
	}
	return e, nil
}

// Name returns "local".
func (e *Executor) Name() string { return Name }

// confinementDefaults fills in and checks the confinement fields.
func (c *Config) confinementDefaults() []error {
	var errs []error
	switch c.Confinement {
	case "":
		c.Confinement = ConfineOff
	case ConfineRequired, ConfineBestEffort, ConfineOff:
	default:
		errs = append(errs, fmt.Errorf("local executor: Confinement %q must be %s, %s or %s", c.Confinement, ConfineRequired, ConfineBestEffort, ConfineOff))
	}
	if c.JobUID == 0 {
		c.JobUID = DefaultJobUID
	}
	if c.JobGID == 0 {
		c.JobGID = DefaultJobGID
	}
	if c.JobUID < 0 || c.JobGID < 0 {
		errs = append(errs, fmt.Errorf("local executor: JobUID %d and JobGID %d must be positive", c.JobUID, c.JobGID))
	}
	if c.ReadOnly == nil {
		c.ReadOnly = slices.Clone(DefaultReadOnly)
		for _, d := range filepath.SplitList(c.JobPath) {
			if filepath.IsAbs(d) && !slices.Contains(c.ReadOnly, d) {
				c.ReadOnly = append(c.ReadOnly, d)
			}
		}
	}
	for _, p := range c.ReadOnly {
		if !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("local executor: ReadOnly path %q must be absolute", p))
		}
	}
	return errs
}
