package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/config/confkit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Settings is the docker executor's section of the configuration file
// (executor.docker). Each field's yaml tag is its key and its help tag what `enclave
// config print-default` says of it; DefaultSettings has the defaults. The executor is
// registered only when Enabled is true.
type Settings struct {
	// Enabled registers the docker executor. Default false.
	Enabled bool `yaml:"enabled" help:"Register the docker executor."`
	// Host is the Docker engine's address. Default "unix:///var/run/docker.sock".
	Host string `yaml:"host" help:"Docker engine address."`
	// Image runs the workflow engine (it must contain the engines). Required when enabled.
	Image string `yaml:"image" help:"Image with the workflow engines; required when enabled (no registry is contacted: import or build it locally)."`
	// User is the non-root uid:gid jobs run as. Default "65534:65534".
	User string `yaml:"user" help:"Non-root uid:gid the containers run as."`
	// Grace is how long a cancelled container gets between SIGTERM and SIGKILL. Default 10s.
	Grace time.Duration `yaml:"grace" help:"Time a cancelled container gets between SIGTERM and SIGKILL."`
	// DatasetRoots are the directories the catalogue's datasets may lie in. A run's
	// datasets are mounted read-only into its container, each at its own path and only
	// when that path, symlinks resolved, is inside one of these; nothing else of the
	// zone's data is mounted. Default [] (runs that read datasets are refused).
	DatasetRoots []string `yaml:"dataset_roots" help:"Directories the catalogue's datasets may lie in (absolute). A run's own datasets are mounted read-only at their paths, only from inside these; [] refuses runs that read datasets."`
	// MaxRunning is how many runs may have a container at once; more wait QUEUED. 0: no
	// limit. Default 8.
	MaxRunning int `yaml:"max_running" help:"Runs that may have a container at once; more wait QUEUED, taking turns across owners. 0: no limit."`
}

// DefaultSettings are the settings of a configuration that says nothing of executor.docker.
func DefaultSettings() Settings {
	return Settings{Host: DefaultHost, User: DefaultUser, Grace: DefaultGrace, DatasetRoots: []string{}, MaxRunning: 8}
}

// Validate reports every problem of enabled settings, each a *confkit.FieldError naming
// its key; the keys of a disabled executor are not checked.
func (s Settings) Validate() error {
	if !s.Enabled {
		return nil
	}
	p := confkit.NewProblems("executor." + Name)
	p.Check("image", s.Image != "", "required when executor.docker.enabled is true")
	p.Check("user", s.User != "" && s.User != "0" && !strings.HasPrefix(s.User, "0:") && s.User != "root",
		"must be a non-root uid:gid, e.g. 65534:65534")
	p.PositiveDuration("grace", s.Grace)
	for i, r := range s.DatasetRoots {
		p.Check(fmt.Sprintf("dataset_roots[%d]", i), strings.HasPrefix(r, "/"), "must be an absolute path")
	}
	return p.Err()
}

// Registered reports whether the server registers the executor: when it is enabled.
func (s Settings) Registered() bool { return s.Enabled }

// Params are the executor parameters the docker executor honours: the job's resources.
func (s Settings) Params() []wes.EngineParam { return wes.ResourceParams }

// RunLimit is max_running.
func (s Settings) RunLimit() int { return s.MaxRunning }

// ServerPaths are the dataset roots: jobs see only their own datasets, never a root.
func (s Settings) ServerPaths() []string { return s.DatasetRoots }

// NewExecutor builds the docker executor these settings describe and pings its engine
// (the registry's factory).
func (s Settings) NewExecutor(ctx context.Context, env confkit.Env) (wes.Executor, error) {
	return New(ctx, Config{Host: s.Host, Image: s.Image, User: s.User, Grace: s.Grace,
		DatasetRoots: s.DatasetRoots, Logger: env.Logger.With("executor", Name)})
}
