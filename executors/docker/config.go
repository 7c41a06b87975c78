package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/spe4hd/enclave/executors/internal/defaults"
	"github.com/spe4hd/enclave/executors/internal/keylock"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Name is the docker executor's registry name.
const Name = "docker"

// Defaults.
const (
	DefaultHost      = "unix:///var/run/docker.sock"
	DefaultUser      = "65534:65534" // nobody:nogroup
	DefaultGrace     = 10 * time.Second
	DefaultPidsLimit = 1024
	DefaultTmpfsSize = "256m"
)

// Config configures the docker executor. New never reads the environment itself.
type Config struct {
	// Host is the engine's address, a unix socket ("unix:///var/run/docker.sock") or
	// tcp://. Default: DefaultHost.
	Host string
	// Image is the image jobs run when job.Image is empty. It must already be on the
	// engine: the executor never pulls. Required unless every job names its image.
	Image string
	// User is the uid:gid the job runs as. It must not be root (0). Default: DefaultUser.
	// The job's work dir must be writable by it: when the executor runs as root and User
	// is numeric, Submit hands the work dir over to User (chown -R) before the container
	// starts; otherwise the deployment must arrange it.
	User string
	// WorkMount is the container path job.WorkDir is mounted at and the job's working
	// directory. Default: the same path as on the host, so paths in argv stay valid.
	WorkMount string
	// DatasetRoots are the host directories the job's datasets (job.Datasets) may come
	// from. Each dataset is mounted read-only at its own path, and only when its path,
	// symlinks resolved, lies inside one of these; a job naming any other dataset is
	// refused (EINVALID). Nothing else of the zone's data is mounted. Default: none, so a
	// job with datasets is refused.
	DatasetRoots []string
	// PidsLimit caps the processes of a container. Default: DefaultPidsLimit.
	PidsLimit int64
	// TmpfsSize is the size of the tmpfs on /tmp. Default: DefaultTmpfsSize.
	TmpfsSize string
	// Grace is the time between SIGTERM and SIGKILL on Cancel. Default: DefaultGrace.
	// Cancel may block for about this long.
	Grace time.Duration
	// Logger receives the executor's logs. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.User == "" {
		c.User = DefaultUser
	}
	if u, _, _ := strings.Cut(c.User, ":"); u == "0" || u == "root" || u == "" {
		errs = append(errs, fmt.Errorf("docker executor: User %q must be a non-root uid:gid", c.User))
	}
	if c.WorkMount != "" && !path.IsAbs(c.WorkMount) {
		errs = append(errs, fmt.Errorf("docker executor: WorkMount %q must be an absolute path", c.WorkMount))
	}
	if c.PidsLimit < 0 {
		errs = append(errs, fmt.Errorf("docker executor: PidsLimit %d must not be negative", c.PidsLimit))
	} else if c.PidsLimit == 0 {
		c.PidsLimit = DefaultPidsLimit
	}
	if c.TmpfsSize == "" {
		c.TmpfsSize = DefaultTmpfsSize
	}
	errs = append(errs, defaults.Duration(&c.Grace, DefaultGrace, "docker executor: Grace"))
	defaults.Logger(&c.Logger)
	return c, errors.Join(errs...)
}

// Executor is the docker executor. It keeps no job state in memory: the engine and the
// handle hold everything, so any instance can take a job over.
type Executor struct {
	cfg   Config
	log   *slog.Logger
	cli   *client.Client
	roots []string // DatasetRoots, symlinks resolved

	submits keylock.Set // per job id: serialises Submits in this process
}

// New validates cfg, connects to the engine and pings it (bounded by ctx).
func New(ctx context.Context, cfg Config) (*Executor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	roots, err := resolveRoots(cfg.DatasetRoots)
	if err != nil {
		return nil, err
	}
	cli, err := client.New(client.WithHost(cfg.Host)) // negotiates the API version: a 20.10 engine speaks 1.41
	if err != nil {
		return nil, fmt.Errorf("docker executor: Host %q: %w", cfg.Host, err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("docker executor: cannot reach the engine at %s: %w", cfg.Host, err)
	}
	return &Executor{cfg: cfg, log: cfg.Logger.With("executor", Name), cli: cli, roots: roots}, nil
}

// Close releases the connection to the engine.
func (e *Executor) Close() error { return e.cli.Close() }

// Name returns "docker".
func (e *Executor) Name() string { return Name }

// unavailable wraps an engine error: connection failures are EUNAVAILABLE, the rest internal.
func unavailable(err error, what string) error {
	if client.IsErrConnectionFailed(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the container engine cannot be reached; try again later", Err: err}
	}
	return wes.Internal(err, "the container engine failed to %s", what)
}
