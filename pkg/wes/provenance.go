package wes

import "time"

// Provenance is what a run ran with: the catalogue entry and its pinned files, the
// datasets it read, the engine and the executor. The run service records the catalogue
// part at submission; the start step records it again from what it staged, with the
// engine version and the executor's image, so that a catalogue reloaded in between shows
// what actually ran. It holds no workflow_params, no tags and no zone path, so erasing a
// run (which scrubs those) keeps it whole: it is part of the tombstone.
type Provenance struct {
	// Workflow, WorkflowVersion and WorkflowName are the catalogue entry's id, version
	// and name; "" for a run outside the catalogue.
	Workflow        string `json:"workflow,omitempty"`
	WorkflowVersion string `json:"workflow_version,omitempty"`
	WorkflowName    string `json:"workflow_name,omitempty"`
	// WorkflowType and WorkflowTypeVersion are the WES workflow type (SMK, CWL, NFL).
	WorkflowType        string `json:"workflow_type,omitempty"`
	WorkflowTypeVersion string `json:"workflow_type_version,omitempty"`
	// Main is the entry point among Files.
	Main string `json:"main,omitempty"`
	// Files are the workflow's files with the sha256 they are pinned to (and were
	// checked against when they were staged), relative to the workflow's directory.
	Files []ProvenanceFile `json:"files,omitempty"`
	// Datasets are the datasets the run read, by id, with what the catalogue says of
	// their version.
	Datasets []ProvenanceDataset `json:"datasets,omitempty"`
	// Engine and EngineVersion are the workflow engine that ran it.
	Engine        string `json:"engine,omitempty"`
	EngineVersion string `json:"engine_version,omitempty"`
	// Executor is the backend the job ran on; Image the container image it ran in (""
	// for executors without images: local, SLURM).
	Executor string `json:"executor,omitempty"`
	Image    string `json:"image,omitempty"`
	// Staged is when the start step recorded the files it staged; zero until the job is
	// started (the record is then the submission's).
	Staged time.Time `json:"staged,omitzero"`
}

// ProvenanceFile is one workflow file as it ran.
type ProvenanceFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// ProvenanceDataset is one dataset a run read: its id, and the version and checksum
// the catalogue declares for it (either may be ""; Enclave never reads the data to make
// one up).
type ProvenanceDataset struct {
	ID       string `json:"id"`
	Version  string `json:"version,omitempty"`
	Checksum string `json:"checksum,omitempty"` // "sha256:<hex>"
}

// ImageReporter is an optional Executor capability: the container image a job runs in
// (the job's own, else the executor's default), for the run's provenance. It answers
// from configuration, without asking the backend.
type ImageReporter interface {
	JobImage(job *Job) string
}
