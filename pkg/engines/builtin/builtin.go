// Package builtin is the one list of the workflow engines Enclave ships: the server
// builds them from its configuration, the catalogue checker with their defaults.
package builtin

import (
	"log/slog"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/nextflow"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
)

// Config configures each built-in engine; the zero Config is every engine's defaults.
type Config struct {
	Snakemake snakemake.Config
	Cwltool   cwl.Config
	Nextflow  nextflow.Config
}

// Engines returns a registry of the built-in engines configured by cfg, logging to log
// (nil: discard).
func Engines(cfg Config, log *slog.Logger) *engines.Registry {
	return engines.NewRegistry(
		snakemake.New(cfg.Snakemake, log),
		cwl.New(cfg.Cwltool, log),
		nextflow.New(cfg.Nextflow, log),
	)
}
