package wes

import (
	"context"
	"time"
)

// EngineParam describes one workflow engine parameter a client may set through
// workflow_engine_parameters. Only parameters an engine lists are accepted.
type EngineParam struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`               // "int", "bool", "string", "enum" or "duration"
	Default  string   `json:"default,omitempty"`  // stringified default, as in WES DefaultWorkflowEngineParameter
	Allowed  []string `json:"allowed,omitempty"`  // for "enum"
	Min, Max int64    `json:"-"`                  // for "int" when Max > 0
	Versions []string `json:"versions,omitempty"` // engine versions it applies to; empty = all
	Help     string   `json:"help,omitempty"`
}

// Task is one step of a workflow run as the engine reports it.
type Task struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Cmd        []string  `json:"cmd,omitempty"`
	StartTime  time.Time `json:"start_time,omitzero"`
	EndTime    time.Time `json:"end_time,omitzero"`
	ExitCode   *int      `json:"exit_code,omitempty"`
	TESURI     string    `json:"tes_uri,omitempty"`
	SystemLogs []string  `json:"system_logs,omitempty"`
}

// PrepareInput is what an engine needs to build a job for a run.
type PrepareInput struct {
	Run     *Run
	WorkDir string // an existing, empty-but-for-attachments directory the engine may write into
	// WorkflowPath is the workflow file, relative to WorkDir.
	WorkflowPath string
}

// Engine turns a run into a Job and reads results back from the work directory.
type Engine interface {
	// Name is the engine's name as clients send it in workflow_engine, e.g. "snakemake".
	Name() string
	// WorkflowType is the WES workflow_type it runs, e.g. "SMK", "CWL", "NFL".
	WorkflowType() string
	// TypeVersions lists accepted workflow_type_version values.
	TypeVersions() []string
	// Versions lists the engine versions available (discovered or configured).
	Versions() []string
	// Parameters is the allow-list of workflow_engine_parameters.
	Parameters() []EngineParam
	// Prepare writes any files the engine needs (params file) into in.WorkDir and
	// returns the job to run. Argv only: never a shell string built from user input.
	Prepare(ctx context.Context, in PrepareInput) (*Job, error)
	// Tasks lists the steps the engine has run or is running, read from the work dir.
	Tasks(ctx context.Context, workDir string) ([]Task, error)
	// Outputs returns the run's outputs read from the work dir after the job ended;
	// file locations are relative to workDir.
	Outputs(ctx context.Context, workDir string) (map[string]any, error)
}
