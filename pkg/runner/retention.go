package runner

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

// actionDelete is the audit action of deleting a run's files, the same as the API's
// DELETE /runs/{id} records, so the trail reads alike whoever deleted.
const actionDelete = "run.delete"

// retentionPageSize is how many runs one List call of a retention pass reads.
const retentionPageSize = 200

// errDeletedBefore stops the record update of a run whose files were deleted before.
var errDeletedBefore = errors.New("run files already deleted")

// DeleteRunFiles removes what a finished run left behind: its released objects in
// results (nil: none kept), its directory under dataDir (work dir and engine logs), and
// then the record's WorkDir, Released and Outputs, its workflow_params, tags, engine
// parameters and command line (a tombstone stays), adding the Enclave message "the run's
// files and outputs were deleted by <by>". The record itself (state, times, messages)
// stays, and so does the audit trail: the caller records its audit event before calling,
// so nothing is removed unaudited. Deleting again is harmless and adds no second message.
// ECONFLICT for a run that has not finished. The API's DELETE and the retention sweeper
// both use it, so the two cannot drift apart.
func DeleteRunFiles(ctx context.Context, store wes.RunStore, results wes.ResultStore, dataDir string, run *wes.Run, by string) error {
	if !run.State.Terminal() {
		return wes.Errorf(wes.ECONFLICT, "run %s is %s; cancel it and wait until it has finished before deleting it", run.ID, run.State)
	}
	if !safeRunID(run.ID) {
		// An empty id would make the layout root <data>/runs itself: never remove that.
		return wes.Errorf(wes.EINTERNAL, "run %q has no usable id; its files were not touched", run.ID)
	}
	if results != nil {
		if err := results.DeletePrefix(ctx, egress.KeyPrefix(run.Owner, run.ID)); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(wes.LayoutFor(dataDir, run.ID).Root); err != nil {
		return wes.Internal(err, "the files of run %s could not be removed", run.ID)
	}
	_, err := store.Update(ctx, run.ID, func(cur *wes.Run) error {
		if recordCleared(cur) {
			return errDeletedBefore // nothing to record
		}
		cur.WorkDir, cur.Released, cur.Outputs = "", nil, nil
		// What the owner wrote can carry data (parameters, tags) and so can the command
		// line built from it: the record keeps only a tombstone (id, owner, workflow,
		// datasets, states, times, Enclave's messages).
		cur.Request.WorkflowParams = json.RawMessage("{}")
		cur.Request.Tags, cur.Request.WorkflowEngineParameters, cur.Request.Attachments = nil, nil, nil
		cur.Log.Cmd = nil
		cur.OwnerEmail = "" // kept only to mail the owner about this run (notify)
		cur.AddSystemLog("the run's files and outputs were deleted by " + by)
		return nil
	})
	if err != nil && !errors.Is(err, errDeletedBefore) {
		return err
	}
	return nil
}

// recordCleared reports whether run's record no longer points at any file or object.
func recordCleared(run *wes.Run) bool {
	return run.WorkDir == "" && len(run.Released) == 0 && len(run.Outputs) == 0 &&
		len(run.Request.Tags) == 0 && len(run.Log.Cmd) == 0 &&
		(len(run.Request.WorkflowParams) == 0 || string(run.Request.WorkflowParams) == "{}")
}

// safeRunID reports whether id names exactly one directory under <data>/runs.
func safeRunID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, `/\`)
}

// RunRetention calls SweepRetention every RetentionInterval until ctx ends; with
// Retention 0 it returns at once. Each worker may run it: a pass is idempotent.
func (r *Runner) RunRetention(ctx context.Context) {
	if r.cfg.Retention <= 0 {
		return
	}
	r.sweepEvery(ctx, r.cfg.RetentionInterval, "retention pass failed", r.SweepRetention)
}

// sweepEvery calls sweep now and then every interval until ctx ends, logging a failed
// pass with what it had done ("done") under msg.
func (r *Runner) sweepEvery(ctx context.Context, interval time.Duration, msg string, sweep func(context.Context) (int, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := sweep(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn(msg, "done", n, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepRetention makes one pass over all runs and deletes, exactly as DELETE /runs/{id}
// does, the files of at most RetentionBatch finished runs that ended more than Retention
// ago and still have files: audited first (actor "system"), then DeleteRunFiles. It
// returns how many runs it deleted; what is left over waits for the next pass. A run
// whose files cannot be removed is logged and skipped, so it cannot hold up the others;
// an audit trail that cannot be written ends the pass, since nothing may be deleted
// unaudited. Several workers sweeping at once do no harm: deleting twice removes nothing
// more (both may record the event).
func (r *Runner) SweepRetention(ctx context.Context) (int, error) {
	if r.cfg.Retention <= 0 {
		return 0, nil
	}
	cutoff := r.now().Add(-r.cfg.Retention)
	reason := "retention period of " + wes.FormatDuration(r.cfg.Retention) + " passed"
	deleted, tried := 0, 0
	var firstErr error
	token := ""
	for {
		page, err := r.store.List(ctx, wes.RunFilter{PageSize: retentionPageSize, PageToken: token})
		if err != nil {
			return deleted, err
		}
		for _, run := range page.Runs {
			if !r.expired(run, cutoff) {
				continue
			}
			if tried >= r.cfg.RetentionBatch {
				return deleted, firstErr
			}
			tried++
			if err := r.recordDelete(ctx, run, reason); err != nil {
				return deleted, err
			}
			if err := DeleteRunFiles(ctx, r.store, r.cfg.Results, r.cfg.DataDir, run, "the retention period"); err != nil {
				if ctx.Err() != nil {
					return deleted, err
				}
				r.log.Warn("retention: the run's files could not be deleted; next pass tries again", "run_id", run.ID, "err", err)
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			deleted++
			r.log.Info("run files deleted", "run_id", run.ID, "by", "system", "reason", reason)
		}
		if page.NextPageToken == "" {
			return deleted, firstErr
		}
		token = page.NextPageToken
	}
}

// expired reports whether run finished before cutoff and still has files to delete.
// A finished run without an EndTime (none is stored so, but records may be old) counts
// from its last update.
func (r *Runner) expired(run *wes.Run, cutoff time.Time) bool {
	if !run.State.Terminal() || !safeRunID(run.ID) {
		return false
	}
	ended := run.EndTime
	if ended.IsZero() {
		ended = run.UpdatedAt
	}
	if !ended.Before(cutoff) {
		return false
	}
	if !recordCleared(run) {
		return true
	}
	// The record points at nothing, yet a run that ended before it started (cancelled
	// while queued) may still have its attachments on disk.
	_, err := os.Lstat(wes.LayoutFor(r.cfg.DataDir, run.ID).Root)
	return err == nil
}

// recordDelete audits the deletion of run's files before anything is removed.
func (r *Runner) recordDelete(ctx context.Context, run *wes.Run, reason string) error {
	if r.cfg.Audit == nil {
		return nil
	}
	e := wes.AuditEvent{Time: r.now(), Actor: "system", Action: actionDelete, Outcome: "ok", RunID: run.ID,
		Workflow: run.Workflow, Dataset: strings.Join(run.Datasets, ","), Reason: reason}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := r.cfg.Audit.Record(actx, e); err != nil {
		r.log.Error("retention: the audit event could not be recorded, so nothing was deleted", "run_id", run.ID, "err", err)
		return err
	}
	return nil
}
