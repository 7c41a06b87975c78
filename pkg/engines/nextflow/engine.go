// Package nextflow runs Nextflow DSL2 pipelines (WES workflow_type "NFL"): it turns a run
// into a nextflow command line, and reads the run's tasks from Nextflow's trace file and
// its outputs from the files the run created.
package nextflow

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Name, workflow type and type version as clients send them.
const (
	Name         = "nextflow"
	WorkflowType = "NFL"
	TypeVersion  = "DSL2"
)

// Files Enclave writes for Nextflow, relative to the work dir. Nextflow's task work dir
// is inside Enclave's state directory too, so output listings never show it.
const (
	configFile = enginekit.StateDir + "/nextflow.config"
	traceFile  = enginekit.StateDir + "/trace.tsv"
	logFile    = enginekit.StateDir + "/nextflow.log"
	taskDir    = enginekit.StateDir + "/nf-work"
)

// traceConfig makes the trace file carry what Tasks reads: raw times are milliseconds
// since the epoch, so they need no time zone. It holds nothing from the request.
const traceConfig = `// Written by Enclave: the trace fields it reads back as WES task logs.
trace {
    enabled   = true
    overwrite = true
    raw       = true
    fields    = 'task_id,hash,name,status,exit,submit,start,complete'
}
`

// MaxOutputs bounds how many files Outputs lists.
const MaxOutputs = 10000

// Config configures the Nextflow engine.
type Config struct {
	// Binary is the nextflow launcher, a name looked up in PATH or an absolute path.
	// Default "nextflow".
	Binary string
	// Versions are the Nextflow versions installed where jobs run. Nextflow is not
	// discovered (its launcher may download itself on first use), so without Versions the
	// engine has none and refuses runs.
	Versions []string
}

// Engine runs Nextflow pipelines. It is safe for concurrent use.
type Engine struct {
	*enginekit.Base
	cfg Config
}

var _ wes.Engine = (*Engine)(nil)

// New returns a Nextflow engine. A nil log discards messages.
func New(cfg Config, log *slog.Logger) *Engine {
	cfg.Binary = cmp.Or(cfg.Binary, "nextflow")
	e := &Engine{Base: enginekit.NewBase(Name, WorkflowType, []string{TypeVersion}, cfg.Versions, log), cfg: cfg}
	return e
}

// Parameters implements wes.Engine.
func (e *Engine) Parameters() []wes.EngineParam {
	return []wes.EngineParam{
		{Name: "resume", Type: "bool", Default: "false", Help: "reuse cached task results of an earlier attempt (-resume)"},
		{Name: "profile", Type: "string", Help: "configuration profiles of the pipeline, comma-separated (-profile)"},
		{Name: "queue-size", Type: "int", Min: 1, Max: 64, Help: "tasks run at once (-queue-size)"},
	}
}

// Discover returns the configured versions: Nextflow is never run to find its version.
func (e *Engine) Discover(context.Context) ([]string, error) { return e.Versions(), nil }

// Prepare writes workflow_params to a JSON params file (-params-file: the pipeline sees
// them as `params`, and no value ever becomes an option) and the trace configuration, and
// returns the nextflow command. Paths are relative to the work dir, the launch directory.
func (e *Engine) Prepare(_ context.Context, in wes.PrepareInput) (*wes.Job, error) {
	p, err := enginekit.Prepare(e, in, nil, enginekit.CheckPlainInputs)
	if err != nil {
		return nil, err
	}
	if err := enginekit.WriteStateFile(in.WorkDir, configFile, []byte(traceConfig)); err != nil {
		return nil, err
	}
	wf := p.Workflow
	if !strings.HasPrefix(wf, "./") {
		// A bare name such as "owner/repo" would make Nextflow fetch a pipeline from the
		// network; "./" keeps it a local file.
		wf = "./" + wf
	}
	argv := []string{
		e.cfg.Binary,
		"-log", logFile,
		"-c", configFile,
		"run", wf,
		"-params-file", p.ParamsFile,
		"-work-dir", taskDir,
		"-with-trace", traceFile,
		"-ansi-log", "false",
		"-offline",
	}
	if p.Params["resume"] == "true" {
		argv = append(argv, "-resume")
	}
	if v := p.Params["profile"]; v != "" {
		argv = append(argv, "-profile", v)
	}
	if v := p.Params["queue-size"]; v != "" {
		argv = append(argv, "-queue-size", v)
	}
	return &wes.Job{ID: in.Run.ID, Argv: argv, WorkDir: in.WorkDir}, nil
}

// CheckInputs implements engines.InputChecker. The workflow reads workflow_params as they
// are (as `params`) and runs in the work dir, so a relative path in them already names a
// file of the run; no string may have a ".." segment or lead through a link.
func (e *Engine) CheckInputs(workDir string, params json.RawMessage) error {
	return enginekit.CheckInputs(workDir, params, nil, enginekit.CheckPlainInputs)
}

// Outputs lists the regular files the run created in the work dir (the files a pipeline
// publishes with publishDir), except Nextflow's .nextflow/ directory and Enclave's
// .enclave/ (which holds the task work dir, trace and log). Each entry maps the
// slash-separated relative path to {"path": rel, "size": bytes}.
func (e *Engine) Outputs(_ context.Context, workDir string) (map[string]any, error) {
	return e.NewOutputs(workDir, []string{".nextflow"}, MaxOutputs)
}
