// Package snakemake runs Snakemake workflows (WES workflow_type "SMK"): it turns a run into
// a snakemake command line, and reads the run's tasks from Snakemake's log and its outputs
// from the files the run created.
package snakemake

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"

	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Name, workflow type and type versions as clients send them.
const (
	Name         = "snakemake"
	WorkflowType = "SMK"
	// TypeVersion is the one workflow_type_version accepted: Snakefiles have no language
	// version of their own, so "1.0" only says "a Snakefile".
	TypeVersion = "1.0"
)

// MaxOutputs bounds how many files Outputs lists; a run that writes more has its first
// MaxOutputs listed and a warning logged.
const MaxOutputs = 10000

// Config configures the Snakemake engine.
type Config struct {
	// Binary is the snakemake program, a name looked up in PATH or an absolute path.
	// Default "snakemake".
	Binary string
	// Versions are the installed Snakemake versions. When empty, Discover runs
	// `Binary --version` to find the one installed; until then no version is available.
	Versions []string
	// DefaultCores is the --cores value when a run does not set the "cores" engine
	// parameter. Default 1; at most 64.
	DefaultCores int
}

// Engine runs Snakemake workflows. It is safe for concurrent use.
type Engine struct {
	*enginekit.Base
	cfg    Config
	params []wes.EngineParam
}

var _ wes.Engine = (*Engine)(nil)

// New returns a Snakemake engine. A nil log discards messages.
func New(cfg Config, log *slog.Logger) *Engine {
	if cfg.Binary == "" {
		cfg.Binary = "snakemake"
	}
	if cfg.DefaultCores <= 0 {
		cfg.DefaultCores = 1
	}
	cfg.DefaultCores = min(cfg.DefaultCores, 64)
	e := &Engine{Base: enginekit.NewBase(Name, WorkflowType, []string{TypeVersion}, cfg.Versions, log), cfg: cfg}
	e.params = []wes.EngineParam{
		{Name: "cores", Type: "int", Min: 1, Max: 64, Default: strconv.Itoa(cfg.DefaultCores),
			Help: "CPU cores Snakemake may use at once (--cores); also the job's CPU request"},
		{Name: "keep-going", Type: "bool", Default: "false",
			Help: "go on with independent jobs when one fails (--keep-going)"},
		{Name: "rerun-incomplete", Type: "bool", Default: "false",
			Help: "re-run jobs whose output is incomplete (--rerun-incomplete)"},
		{Name: "latency-wait", Type: "int", Min: 0, Max: 600, Default: "5",
			Help: "seconds to wait for output files on slow file systems (--latency-wait)"},
		{Name: "restart-times", Type: "int", Min: 0, Max: 10, Default: "0",
			Help: "times to restart a failing job (--restart-times)"},
	}
	return e
}

// Parameters implements wes.Engine.
func (e *Engine) Parameters() []wes.EngineParam { return append([]wes.EngineParam(nil), e.params...) }

// Discover finds the installed Snakemake version by running `snakemake --version`, unless
// Config.Versions named the versions already.
func (e *Engine) Discover(ctx context.Context) ([]string, error) {
	return e.DiscoverWith(ctx, e.cfg.Versions, e.cfg.Binary, "--version")
}

// Prepare writes workflow_params to the params file (Snakemake reads it with
// --configfile, so the workflow sees it as `config`) and returns the snakemake command.
// All paths in the command are relative to the job's work dir, which is the process's
// working directory, so it also runs where the work dir is mounted at another path.
func (e *Engine) Prepare(_ context.Context, in wes.PrepareInput) (*wes.Job, error) {
	p, err := enginekit.Prepare(e, in, nil, enginekit.CheckPlainInputs)
	if err != nil {
		return nil, err
	}
	cores, _ := strconv.Atoi(p.Params["cores"]) // validated as an int in 1..64
	argv := []string{
		e.cfg.Binary,
		"--snakefile", p.Workflow,
		"--directory", ".",
		"--configfile", p.ParamsFile,
		"--cores", strconv.Itoa(cores),
		"--nocolor",
		"--printshellcmds",
		// Each run has its own work dir, so locking protects nothing, and a killed run
		// would leave a stale lock behind.
		"--nolock",
		"--latency-wait", p.Params["latency-wait"],
		"--restart-times", p.Params["restart-times"],
	}
	if p.Params["keep-going"] == "true" {
		argv = append(argv, "--keep-going")
	}
	if p.Params["rerun-incomplete"] == "true" {
		argv = append(argv, "--rerun-incomplete")
	}
	return &wes.Job{
		ID:        in.Run.ID,
		Argv:      argv,
		WorkDir:   in.WorkDir,
		Resources: wes.Resources{CPUs: cores},
	}, nil
}

// CheckInputs implements engines.InputChecker. The workflow reads workflow_params as they
// are (as `config`) and runs in the work dir, so a relative path in them already names a
// file of the run; no string may have a ".." segment or lead through a link.
func (e *Engine) CheckInputs(workDir string, params json.RawMessage) error {
	return enginekit.CheckInputs(workDir, params, nil, enginekit.CheckPlainInputs)
}

// Outputs lists the regular files the run created in the work dir: every file that was
// not there before the run, except Snakemake's own .snakemake/ directory and Enclave's
// .enclave/. Snakemake records no list of a workflow's final outputs, so "what the run
// wrote" is the robust choice; the egress allow-list then decides what leaves the zone.
// Each entry maps the slash-separated relative path to {"path": rel, "size": bytes}.
func (e *Engine) Outputs(_ context.Context, workDir string) (map[string]any, error) {
	return e.NewOutputs(workDir, []string{".snakemake"}, MaxOutputs)
}
