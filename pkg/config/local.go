package config

import (
	"path/filepath"
)

// LocalConfinement is executor.local.confinement, or its default: required when the
// zone is sealed, best-effort when it is open (plain WES, where a machine without
// Landlock should still run jobs).
func (c Config) LocalConfinement() string {
	return c.Executor.Local.ConfinementIn(c.Zone.Mode == "sealed")
}

// LocalJobUser is executor.local.job_user as numbers (Validate has checked it).
func (c Config) LocalJobUser() (uid, gid int) {
	uid, gid, _ = c.Executor.Local.JobIDs()
	return uid, gid
}

// File is the configuration file Load read (absolute), or "" when there was none.
func (c Config) File() string { return c.file }

// ServerPaths lists the server's own files and directories, which no job may see: the
// configuration file, the catalogue, the audit checkpoint key, the data, state and
// results directories, and the files the executors' settings name (the docker
// executor's dataset roots, the SLURM key files, the kubeconfig). (The local executor hides them even where they lie inside
// a system path a job may read, such as /etc.)
func (c Config) ServerPaths() []string {
	var out []string
	add := func(ps ...string) {
		for _, p := range ps {
			if p == "" {
				continue
			}
			if abs, err := filepath.Abs(p); err == nil {
				out = append(out, abs)
			}
		}
	}
	add(c.file, c.Zone.Catalog, c.DataDir, c.LocalStateDir(), c.ResultsLocalDir(), c.Audit.Checkpoint.KeyFile)
	add(c.Executor.ServerPaths()...)
	return out
}
