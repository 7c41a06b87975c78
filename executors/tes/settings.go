package tes

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/config/confkit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Settings is the tes executor's section of the configuration file (executor.tes). Each
// field's yaml tag is its key, its help tag what `enclave config print-default` says of
// it, and secret marks what Redacted hides; DefaultSettings has the defaults. The
// executor is registered only when Enabled is true. The TES server must see data_dir
// (and the datasets) at the same paths: files travel as file:// URLs.
type Settings struct {
	// Enabled registers the tes executor. Default false.
	Enabled bool `yaml:"enabled" help:"Register the tes executor."`
	// URL is the TES API's base URL, the part before /tasks (e.g.
	// https://tes.zone.internal/ga4gh/tes/v1). Required when enabled; no credentials in it.
	URL string `yaml:"url" help:"Base URL of the TES API (before /tasks); required when enabled, without credentials."`
	// Token is a bearer token for the TES server. Secret. Default "".
	Token string `yaml:"token" help:"Bearer token for the TES server. Secret: prefer the environment variable." secret:"true"`
	// Username and Password are HTTP basic credentials (instead of token). Password is a
	// secret. Default "".
	Username string `yaml:"username" help:"HTTP basic user for the TES server (instead of token)."`
	Password string `yaml:"password" help:"HTTP basic password. Secret: prefer the environment variable." secret:"true"`
	// Image runs the workflow engine (it must contain the engines). Required when enabled.
	Image string `yaml:"image" help:"Image with the workflow engines; required when enabled."`
	// StageImage runs the copy of the work dir into place (it needs cp). Default "": the
	// job's image.
	StageImage string `yaml:"stage_image" help:"Image of the step copying the work dir into place (needs cp); \"\" is the job's image."`
	// AllowedDirs are the directories the TES server may read and write as file:// URLs;
	// every run's work dir and datasets must be inside. Default []: data_dir only.
	AllowedDirs []string `yaml:"allowed_dirs" help:"Directories the TES server may read and write as file:// URLs; [] is data_dir only. Datasets must be inside too."`
	// BackendParameters names the executor parameters passed on as TES
	// backend_parameters (e.g. partition). Default [].
	BackendParameters []string `yaml:"backend_parameters" help:"Executor parameters passed on as TES backend_parameters (e.g. partition)."`
	// Timeout bounds each request to the TES server. Default 30s.
	Timeout time.Duration `yaml:"timeout" help:"Longest one request to the TES server may take."`
	// MaxRunning caps the runs with a TES task at once; more wait QUEUED in Enclave.
	// Default 0: no cap (the TES server queues tasks itself).
	MaxRunning int `yaml:"max_running" help:"Runs that may have a TES task at once; more wait QUEUED in Enclave. 0: no cap."`
}

// DefaultSettings are the settings of a configuration that says nothing of executor.tes.
func DefaultSettings() Settings {
	return Settings{AllowedDirs: []string{}, BackendParameters: []string{}, Timeout: DefaultTimeout}
}

// Validate reports every problem of enabled settings, each a *confkit.FieldError naming
// its key; the keys of a disabled executor are not checked.
func (s Settings) Validate() error {
	if !s.Enabled {
		return nil
	}
	p := confkit.NewProblems("executor." + Name)
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		p.Add("url", "required when executor.tes.enabled is true: the TES API's base URL, e.g. https://tes.zone.internal/ga4gh/tes/v1")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.Add("url", "must be an http or https URL")
	case u.User != nil:
		p.Add("url", "must not carry credentials: use executor.tes.token or username and password")
	}
	p.Check("image", s.Image != "", "required when executor.tes.enabled is true")
	p.Check("token", s.Token == "" || (s.Username == "" && s.Password == ""), "set token or username and password, not both")
	p.Check("password", (s.Username == "") == (s.Password == ""), "username and password go together")
	for i, d := range s.AllowedDirs {
		p.Check(fmt.Sprintf("allowed_dirs[%d]", i), strings.HasPrefix(d, "/"), "must be an absolute path")
	}
	p.PositiveDuration("timeout", s.Timeout)
	return p.Err()
}

// Registered reports whether the server registers the executor: when it is enabled.
func (s Settings) Registered() bool { return s.Enabled }

// Params are the executor parameters the tes executor honours: the job's resources
// (and the ones backend_parameters names, which the operators choose).
func (s Settings) Params() []wes.EngineParam { return wes.ResourceParams }

// RunLimit is max_running.
func (s Settings) RunLimit() int { return s.MaxRunning }

// ServerPaths is nil: the settings name no file of the server's.
func (s Settings) ServerPaths() []string { return nil }

// Config is the executor's Config for these settings in env; without allowed_dirs the
// TES server may reach data_dir only.
func (s Settings) Config(env confkit.Env) Config {
	dirs := s.AllowedDirs
	if len(dirs) == 0 {
		dirs = []string{env.DataDir}
	}
	return Config{
		URL: s.URL, Token: s.Token, Username: s.Username, Password: s.Password,
		Image: s.Image, StageImage: s.StageImage, AllowedDirs: dirs,
		BackendParameters: s.BackendParameters, Timeout: s.Timeout,
		Logger: env.Logger.With("executor", Name),
	}
}

// NewExecutor builds the tes executor these settings describe (the registry's factory).
func (s Settings) NewExecutor(_ context.Context, env confkit.Env) (wes.Executor, error) {
	return New(s.Config(env))
}
