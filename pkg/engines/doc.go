// Package engines names the workflow engines Enclave can run (Snakemake, cwltool,
// Nextflow; each in its own subpackage), resolves a run request's workflow type, engine
// and engine version to one of them, checks workflow_engine_parameters against each
// engine's typed allow-list, and checks that the relative input paths in workflow_params
// name files of the run (CheckInputs).
package engines
