package runner

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/wes"
)

// A stray is a run directory under <data>/runs with no run in the store: the server wrote
// a submission's attachments and died before it stored the run (or the store lost it).
// Nobody will ever start, show or delete it, so the worker sweeps strays away.

const (
	// StrayAge is how long nothing in a directory without a stored run must have changed
	// before it counts as a stray: a submission still being received (a large upload at a
	// slow client's pace) writes into its directory and is never touched.
	StrayAge = 6 * time.Hour
	// strayInterval is how often RunStraySweep looks.
	strayInterval = time.Hour
	// actionStray is the audit action of removing a stray.
	actionStray = "run.stray.remove"
)

// RunStraySweep calls SweepStrays now and then every hour until ctx ends. Each worker
// may run it: removing a stray twice removes nothing more.
func (r *Runner) RunStraySweep(ctx context.Context) {
	r.sweepEvery(ctx, strayInterval, "sweep of stray run directories failed", r.SweepStrays)
}

// SweepStrays removes the run directories under DataDir that no stored run owns, that
// were never started (no logs directory) and in which nothing changed for StrayAge, each with an audit event (actor "system") and a
// log line, and returns how many it removed. Only directories named like run ids are
// looked at; anything else under <data>/runs is left alone. A store that cannot be
// reached ends the pass without removing anything more.
func (r *Runner) SweepStrays(ctx context.Context) (int, error) {
	runsDir := filepath.Dir(wes.LayoutFor(r.cfg.DataDir, "x").Root)
	entries, err := os.ReadDir(runsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, wes.Internal(err, "cannot list the run directories")
	}
	cutoff := r.now().Add(-StrayAge)
	removed := 0
	for _, e := range entries {
		if ctx.Err() != nil {
			return removed, ctx.Err()
		}
		id := e.Name()
		if !e.IsDir() || uuid.Validate(id) != nil {
			continue
		}
		if _, err := r.store.Get(ctx, id); !wes.IsCode(err, wes.ENOTFOUND) {
			if err != nil {
				return removed, err
			}
			continue // a stored run: its files are the run's
		}
		root := filepath.Join(runsDir, id)
		if _, err := os.Lstat(filepath.Join(root, "logs")); err == nil || !errors.Is(err, fs.ErrNotExist) {
			// A run that was started has a logs directory: its record is missing for some
			// other reason (a changed redis.key_prefix, a Redis that lost its data), and
			// its files are not the sweep's to remove.
			continue
		}
		if changedSince(root, cutoff) {
			continue
		}
		if r.cfg.Audit != nil {
			ev := wes.AuditEvent{Time: r.now(), Actor: "system", Action: actionStray, Outcome: "ok", RunID: id,
				Reason: "a run directory without a stored run (a submission cut short by a crash) was removed"}
			if err := r.cfg.Audit.Record(ctx, ev); err != nil {
				return removed, err // nothing is removed unaudited
			}
		}
		// Checked once more: a run stored since the first look keeps its files.
		if _, err := r.store.Get(ctx, id); !wes.IsCode(err, wes.ENOTFOUND) {
			continue
		}
		if err := os.RemoveAll(root); err != nil {
			r.log.Warn("a stray run directory could not be removed", "run_id", id, "err", err)
			continue
		}
		removed++
		r.log.Warn("removed a stray run directory: no run was stored for it", "run_id", id)
	}
	return removed, nil
}

// changedSince reports whether anything in the tree at root was modified after cutoff,
// or cannot be looked at (then it is left alone).
func changedSince(root string, cutoff time.Time) bool {
	changed := false
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().After(cutoff) {
			changed = true
			return filepath.SkipAll
		}
		return nil
	})
	return changed || err != nil
}
