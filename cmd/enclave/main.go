// Command enclave is Enclave's one binary: the WES server (`enclave server`), a worker
// (`enclave worker`), a WES client for any WES 1.1 server (`enclave run ...`), the client
// of Enclave's sealed zone (`enclave catalog ...`, `enclave audit ...`) and configuration
// tools (`enclave config ...`).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/config"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	// The local executor starts this same binary as the supervisor of each job.
	local.MaybeShim()
	// SIGINT and SIGTERM cancel the context; commands stop at their next check.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// globals are the process-wide inputs every command shares: the global flags and the
// process's environment and streams, passed in so that tests can run commands in parallel
// without touching the real ones.
type globals struct {
	configPath string // --config/-c, else $ENCLAVE_CONFIG; "" = defaults and environment only
	logLevel   string // --log-level; "" keeps log.level of the configuration
	logFormat  string // --log-format; "" keeps log.format of the configuration

	env    []string // the environment, as os.Environ gives it
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// getenv returns the value of the environment variable name, or "".
func (g *globals) getenv(name string) string {
	for i := len(g.env) - 1; i >= 0; i-- { // the last definition wins, as in os.Getenv
		if k, v, ok := strings.Cut(g.env[i], "="); ok && k == name {
			return v
		}
	}
	return ""
}

// loadConfig returns the validated configuration: defaults, then the file named by
// --config or $ENCLAVE_CONFIG, then ENCLAVE_* variables, then the global flags.
func (g *globals) loadConfig() (config.Config, error) {
	path := g.configPath
	if path == "" {
		path = g.getenv("ENCLAVE_CONFIG")
	}
	cfg, err := config.Load(path, g.env)
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration:\n%w", err)
	}
	for key, val := range map[string]string{"log.level": g.logLevel, "log.format": g.logFormat} {
		if val == "" {
			continue
		}
		if err := cfg.Set(key, val); err != nil {
			return config.Config{}, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}

// logger returns the process logger on stderr with cfg's level and format. cfg has been
// validated, so both are known values.
func (g *globals) logger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

// exitError carries a process exit code other than 1. An empty message prints nothing.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// execute runs the command line args and returns the process exit code.
func execute(ctx context.Context, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{env: env, stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "enclave:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "enclave:", err)
	return 1
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "enclave",
		Short:         "Enclave: a GA4GH WES server for secure processing environments, and its client",
		Version:       version,
		SilenceUsage:  true, // a failed run prints its error, not the whole usage text
		SilenceErrors: true, // execute prints errors once, with the exit code it chooses
	}
	root.SetIn(g.stdin)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	pf := root.PersistentFlags()
	pf.StringVarP(&g.configPath, "config", "c", "", "configuration file (YAML; default $ENCLAVE_CONFIG, else built-in defaults)")
	pf.StringVar(&g.logLevel, "log-level", "", "log level: "+strings.Join(config.LogLevels, ", ")+" (overrides log.level)")
	pf.StringVar(&g.logFormat, "log-format", "", "log format: "+strings.Join(config.LogFormats, ", ")+" (overrides log.format)")

	root.AddCommand(
		newServerCmd(g),
		newWorkerCmd(g),
		newShimCmd(),
		newRunCmd(g),
		newConfigCmd(g),
		newCatalogCmd(g),
		newLoginCmd(g),
		newAuditCmd(g),
	)
	return root
}
