package confkit

import "log/slog"

// Env is what a section's factory learns from the rest of the configuration: an
// executor is built from its own settings and this.
type Env struct {
	// DataDir is data_dir, absolute: the runs' work directories.
	DataDir string
	// Sealed reports that zone.mode is sealed (the local executor's confinement defaults
	// to required there).
	Sealed bool
	// Hidden are the server's own files and directories, which no job may see (the
	// configuration file, the catalogue, keys; see config.Config.ServerPaths).
	Hidden []string
	// Logger is the process's logger; each executor adds its name.
	Logger *slog.Logger
}
