// Package cwl runs Common Workflow Language workflows (WES workflow_type "CWL") with
// cwltool: it turns a run into a cwltool command line, and reads the run's tasks from
// cwltool's log and its outputs from the outputs object cwltool prints.
package cwl

import (
	"cmp"
	"context"
	"log/slog"
	"strings"

	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Name and workflow type as clients send them.
const (
	Name         = "cwltool"
	WorkflowType = "CWL"
)

// TypeVersions are the CWL versions cwltool 3.1 runs.
var TypeVersions = []string{"v1.0", "v1.1", "v1.2"}

// OutputDir is where cwltool moves a run's output files, relative to the work dir.
const OutputDir = "outputs"

// tmpPrefix keeps cwltool's intermediate directories inside the work dir (and so inside
// the zone) instead of the machine's /tmp, under Enclave's own directory.
const tmpPrefix = enginekit.StateDir + "/tmp/"

// Config configures the cwltool engine.
type Config struct {
	// Binary is the cwltool program, a name looked up in PATH or an absolute path.
	// Default "cwltool".
	Binary string
	// Versions are the installed cwltool versions. When empty, Discover runs
	// `Binary --version` to find the one installed; until then no version is available.
	Versions []string
	// Containers lets cwltool run tools in the containers their DockerRequirement names
	// (images must already be present: pulling is always disabled). Default false: tools
	// run without containers (--no-container), as on a machine with no container engine.
	Containers bool
}

// Engine runs CWL workflows with cwltool. It is safe for concurrent use.
type Engine struct {
	*enginekit.Base
	cfg Config
}

var _ wes.Engine = (*Engine)(nil)

// New returns a cwltool engine. A nil log discards messages.
func New(cfg Config, log *slog.Logger) *Engine {
	cfg.Binary = cmp.Or(cfg.Binary, "cwltool")
	e := &Engine{Base: enginekit.NewBase(Name, WorkflowType, TypeVersions, cfg.Versions, log), cfg: cfg}
	return e
}

// Parameters implements wes.Engine.
func (e *Engine) Parameters() []wes.EngineParam {
	return []wes.EngineParam{
		{Name: "parallel", Type: "bool", Default: "false", Help: "run independent steps in parallel (--parallel)"},
		{Name: "strict", Type: "bool", Default: "true", Help: "refuse unknown fields in the workflow (--strict or --non-strict)"},
		{Name: "on-error", Type: "enum", Allowed: []string{"stop", "continue"}, Default: "stop",
			Help: "after a step fails, stop the workflow or continue with independent steps (--on-error)"},
		{Name: "eval-timeout", Type: "int", Min: 1, Max: 600, Default: "60",
			Help: "seconds a JavaScript expression may take (--eval-timeout)"},
	}
}

// Discover finds the installed cwltool version by running `cwltool --version`, unless
// Config.Versions named the versions already.
func (e *Engine) Discover(ctx context.Context) ([]string, error) {
	return e.DiscoverWith(ctx, e.cfg.Versions, e.cfg.Binary, "--version")
}

// Prepare writes workflow_params as the CWL input object (the job file) and returns the
// cwltool command. All paths are relative to the job's work dir, the process's working
// directory. Relative File and Directory paths in the inputs are relative to the
// attachments, as WES says: resolveInputs checks them and rewrites them to resolve
// against the work dir (cwltool would resolve them against the job file's directory).
func (e *Engine) Prepare(_ context.Context, in wes.PrepareInput) (*wes.Job, error) {
	p, err := enginekit.Prepare(e, in, checkInputKey, resolveInputs)
	if err != nil {
		return nil, err
	}
	argv := []string{
		e.cfg.Binary,
		"--disable-color",
		"--timestamps", // Tasks reads the times of steps from these
		"--skip-schemas",
		"--outdir", OutputDir,
		"--basedir", ".",
		"--tmpdir-prefix", tmpPrefix,
		"--on-error", p.Params["on-error"],
		"--eval-timeout", p.Params["eval-timeout"],
	}
	if e.cfg.Containers {
		argv = append(argv, "--disable-pull")
	} else {
		argv = append(argv, "--no-container")
	}
	if p.Params["strict"] == "true" {
		argv = append(argv, "--strict")
	} else {
		argv = append(argv, "--non-strict")
	}
	if p.Params["parallel"] == "true" {
		argv = append(argv, "--parallel")
	}
	argv = append(argv, p.Workflow, p.ParamsFile)
	return &wes.Job{ID: in.Run.ID, Argv: argv, WorkDir: in.WorkDir}, nil
}

// checkInputKey refuses keys of the input object that cwltool reads as directives
// rather than inputs: "cwl:tool" or "cwl:requirements" would let a request choose the
// tool or add requirements, "$namespaces"/"$schemas" would make cwltool load documents.
// CWL input names are plain identifiers, so nothing legitimate is refused.
func checkInputKey(k string) error {
	if k == "" || strings.ContainsAny(k, ":/#") || strings.HasPrefix(k, "$") || strings.HasPrefix(k, "@") {
		return wes.Errorf(wes.EINVALID, "workflow_params: %.64q is not an input name (names with : / # or starting with $ or @ are CWL directives and are not accepted)", k)
	}
	return nil
}
