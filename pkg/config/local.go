package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// LocalConfinements are the accepted executor.local.confinement values ("" is the
// default of the zone mode).
var LocalConfinements = []string{"required", "best-effort", "off"}

func validateLocal(v *validator, l LocalExecutorConfig) {
	if l.Confinement != "" {
		v.OneOf("executor.local.confinement", l.Confinement, LocalConfinements)
	}
	if _, _, err := parseJobUser(l.JobUser); err != nil {
		v.Add("executor.local.job_user", "%s", err)
	}
}

// LocalConfinement is executor.local.confinement, or its default: required when the
// zone is sealed, best-effort when it is open (plain WES, where a machine without
// Landlock should still run jobs).
func (c Config) LocalConfinement() string {
	switch {
	case c.Executor.Local.Confinement != "":
		return c.Executor.Local.Confinement
	case c.Zone.Mode == "sealed":
		return "required"
	}
	return "best-effort"
}

// LocalJobUser is executor.local.job_user as numbers (Validate has checked it).
func (c Config) LocalJobUser() (uid, gid int) {
	uid, gid, _ = parseJobUser(c.Executor.Local.JobUser)
	return uid, gid
}

func parseJobUser(s string) (uid, gid int, err error) {
	u, g, ok := strings.Cut(s, ":")
	uid, uerr := strconv.Atoi(u)
	gid, gerr := strconv.Atoi(g)
	if !ok || uerr != nil || gerr != nil || uid <= 0 || gid <= 0 {
		return 0, 0, fmt.Errorf("%q must be uid:gid in numbers, neither of them 0 (root), e.g. 61234:61234", s)
	}
	return uid, gid, nil
}

// File is the configuration file Load read (absolute), or "" when there was none.
func (c Config) File() string { return c.file }

// ServerPaths lists the server's own files and directories, which no job may see: the
// configuration file, the catalogue, the data, state and results directories, the
// docker executor's dataset roots and the SLURM key files. (The local executor hides
// them even where they lie inside a system path a job may read, such as /etc.)
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
	add(c.file, c.Zone.Catalog, c.DataDir, c.LocalStateDir(), c.ResultsLocalDir())
	add(c.Executor.Docker.DatasetRoots...)
	add(c.Executor.Slurm.SSH.KeyFile, c.Executor.Slurm.SSH.KnownHostsFile, c.Executor.Kubernetes.Kubeconfig)
	return out
}
