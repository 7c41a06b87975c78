package runner

import (
	"context"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// actionState is the audit action of a run's state change.
const actionState = "run.state"

// auditTimeout bounds one audit write. It runs on a context that outlives a cancelled
// step, so a decision that was taken is recorded.
const auditTimeout = 10 * time.Second

// audit records e about run (actor "system" unless e names one). A failed write is
// logged: the step's outcome is already stored and must not be undone by the trail.
func (r *Runner) audit(ctx context.Context, run *wes.Run, e wes.AuditEvent) {
	if r.cfg.Audit == nil {
		return
	}
	if e.Actor == "" {
		e.Actor = "system"
	}
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	e.RunID, e.Workflow, e.Dataset = run.ID, run.Workflow, strings.Join(run.Datasets, ",")
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := r.cfg.Audit.Record(actx, e); err != nil {
		r.log.Error("an audit event could not be recorded", "run_id", run.ID, "action", e.Action, "err", err)
	}
}

// stateEvent is the audit event of run having reached its current state at t, with
// Enclave's reason. It is stored in the run's outbox, so it is complete here.
func stateEvent(run *wes.Run, reason string, t time.Time) wes.AuditEvent {
	outcome := "ok"
	if run.State == wes.StateSystemError || run.State == wes.StateExecutorError {
		outcome = "error"
	}
	return wes.AuditEvent{Time: t, Actor: "system", Action: actionState, Outcome: outcome, Reason: reason,
		RunID: run.ID, Workflow: run.Workflow, Dataset: strings.Join(run.Datasets, ","),
		Detail: map[string]string{"state": string(run.State)}}
}
