package local

import (
	"context"
	"path/filepath"

	"github.com/spe4hd/enclave/pkg/wes"
)

// logAbilities says once, at New, what this machine offers and what jobs will get.
func (e *Executor) logAbilities() {
	a := e.abilities
	attrs := []any{"policy", e.cfg.Confinement, "landlock_abi", a.Landlock, "root", a.Root, "namespaces", a.Namespaces}
	if a.NSProblem != "" {
		attrs = append(attrs, "namespaces_problem", a.NSProblem)
	}
	p, err := e.planFor()
	if err != nil {
		e.log.Error("jobs cannot be confined as executor.local.confinement requires: every job will be refused", append(attrs, "err", err)...)
		return
	}
	e.log.Info("job confinement", append(attrs, "jobs_get", p.describe())...)
}

// Confinement describes what a job started now gets (wes.ConfinementDescriber).
func (e *Executor) Confinement() wes.Confinement {
	c := wes.Confinement{Policy: e.cfg.Confinement}
	p, err := e.planFor()
	if err != nil {
		c.Problem = "jobs are refused: " + err.Error()
		return c
	}
	c.Mechanisms = p.mechanisms()
	return c
}

// Describe returns what a local executor configured with cfg would give jobs on this
// machine, without creating one: for a server process that shows service-info but runs
// no worker. It probes the machine.
func Describe(cfg Config) (wes.Confinement, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return wes.Confinement{}, err
	}
	e := &Executor{cfg: cfg}
	if cfg.Confinement != ConfineOff {
		e.abilities = probeAbilities()
	}
	return e.Confinement(), nil
}

// JobConfinement is the system-log line saying how the job of h is confined
// (wes.JobConfinementReporter). It reads the plan the job's spec carries, which the shim
// applies in full or fails the job.
func (e *Executor) JobConfinement(_ context.Context, h wes.Handle) (string, error) {
	d, err := decodeHandle(h)
	if err != nil {
		return "", err
	}
	var sp spec
	ok, err := readJSON(filepath.Join(d.StateDir, fileSpec), &sp)
	if err != nil || !ok {
		return "", wes.Internal(err, "could not read the job's spec")
	}
	return sp.Confine.describe(), nil
}
