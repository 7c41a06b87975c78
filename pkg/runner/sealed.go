package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Audit actions of the sealed zone's runner steps (egress.Release and Refusal.Event
// record egress.release and egress.refuse).
const (
	actionVerify = "workflow.verify"
	actionHold   = "egress.hold"
)

// msgFilesChanged is what the owner reads when the pinned workflow files do not match.
const msgFilesChanged = "workflow files changed since validation; the run was not started and the operators must check the workflow"

// refusal is a start or finalize step that must end the run with Enclave's message.
type refusal struct{ msg string }

func (f *refusal) Error() string { return f.msg }

// stageSealed prepares the work dir of a catalogue run: the workflow's files are checked
// against their sha256 pins and copied in (checked again on the copied bytes), and the
// run is returned as the engine must see it: a copy whose params have dataset ids
// replaced by their paths inside the zone and whose engine parameters are the entry's.
// The stored run keeps the client's params. It also returns the datasets the run reads,
// sorted by id. A *refusal ends the run; other errors are retried.
func (r *Runner) stageSealed(ctx context.Context, run *wes.Run, workDir string) (*wes.Run, *catalog.Entry, []wes.DatasetMount, error) {
	if r.cfg.Catalog == nil {
		return nil, nil, nil, &refusal{fmt.Sprintf("this worker has no workflow catalogue, so catalogue workflow %s cannot run here", run.Workflow)}
	}
	cat := r.cfg.Catalog.Catalog()
	e, ok := cat.Entry(run.Workflow)
	if !ok {
		return nil, nil, nil, &refusal{fmt.Sprintf("workflow %s is no longer in the catalogue", run.Workflow)}
	}
	err := cat.VerifyFiles(run.Workflow)
	if err == nil {
		err = cat.StageFiles(run.Workflow, workDir)
	}
	if err != nil {
		if !wes.IsCode(err, wes.ECONFLICT) {
			return nil, nil, nil, err
		}
		r.log.Error("a catalogue workflow's files do not match their pins", "run_id", run.ID, "workflow", run.Workflow, "err", err)
		cause := wes.ErrorMessage(err)
		if c := errors.Unwrap(err); c != nil {
			cause = c.Error() // names the file, relative to the workflow's directory
		}
		r.audit(ctx, run, wes.AuditEvent{Action: actionVerify, Outcome: "refused", Reason: msgFilesChanged,
			Detail: map[string]string{"cause": cause}})
		return nil, nil, nil, &refusal{msgFilesChanged}
	}
	params, used, err := cat.ResolveParams(run.Workflow, run.Request.WorkflowParams)
	if err != nil {
		if code := wes.ErrorCode(err); code == wes.ECONFLICT || code == wes.EINVALID {
			return nil, nil, nil, &refusal{"the run's parameters no longer fit the catalogue: " + wes.ErrorMessage(err)}
		}
		return nil, nil, nil, err
	}
	cp := *run
	cp.Request.WorkflowParams = params
	cp.Request.WorkflowEngineParameters = e.EngineParameters(run.Request.WorkflowEngineParameters)
	cp.Request.Attachments = nil
	datasets := make([]wes.DatasetMount, 0, len(used))
	for id, path := range used {
		datasets = append(datasets, wes.DatasetMount{ID: id, Path: path})
	}
	slices.SortFunc(datasets, func(a, b wes.DatasetMount) int { return strings.Compare(a.ID, b.ID) })
	return &cp, e, datasets, nil
}

// withResources applies the entry's resources over what the engine asked for: the data
// controller's limits win.
func withResources(job *wes.Job, res wes.Resources) {
	if res.CPUs > 0 {
		job.Resources.CPUs = res.CPUs
	}
	if res.MemoryMB > 0 {
		job.Resources.MemoryMB = res.MemoryMB
	}
	if res.TimeLimit > 0 {
		job.Resources.TimeLimit = res.TimeLimit
	}
}

// egressOutputs decides what of a finished catalogue run leaves the zone, under its
// workflow's output policy: refused files are audited; accepted ones are released to the
// result store (egress auto) or recorded as pending for a data controller (egress
// review). A *refusal means the run must end in SYSTEM_ERROR with its message; nothing
// is released then (objects already stored are removed).
func (r *Runner) egressOutputs(ctx context.Context, run *wes.Run, workDir string) ([]wes.Output, string, error) {
	log := r.log.With("run_id", run.ID, "step", "finalize")
	if r.cfg.Catalog == nil {
		return nil, "", &refusal{"this worker has no workflow catalogue; the run's outputs were not released"}
	}
	e, ok := r.cfg.Catalog.Catalog().Entry(run.Workflow)
	if !ok {
		return nil, "", &refusal{fmt.Sprintf("workflow %s left the catalogue before the run ended; its outputs were not released", run.Workflow)}
	}
	accepted, refused, err := egress.Select(workDir, e.Outputs, r.cfg.Egress)
	if err != nil {
		log.Error("selecting outputs failed", "err", err)
		return nil, "", &refusal{"the run's outputs could not be checked against the workflow's output allow-list"}
	}
	limited := 0
	for _, f := range refused {
		if f.Kind != egress.RefuseNotAllowed {
			limited++
		}
		r.audit(ctx, run, f.Event())
	}
	note := ""
	if limited > 0 {
		note = fmt.Sprintf("; %d other file(s) stayed in the zone (links, special files or over the size and count limits)", limited)
	}
	if e.Egress == wes.EgressReview {
		held := r.holdOutputs(ctx, run, workDir, accepted)
		return held, fmt.Sprintf("%d output(s) wait for a data controller's review%s", len(held), note), nil
	}
	if r.cfg.Results == nil {
		return nil, "", &refusal{"this worker has no result store; the run's outputs were not released"}
	}
	prefix := egress.KeyPrefix(run.Owner, run.ID)
	outs, err := egress.Release(ctx, r.cfg.Results, prefix, workDir, accepted, func(ev wes.AuditEvent) { r.audit(ctx, run, ev) })
	if err != nil {
		log.Error("uploading outputs failed", "err", err)
		r.dropObjects(ctx, run)
		return nil, "", &refusal{"the run's outputs could not be uploaded to the result store"}
	}
	return outs, fmt.Sprintf("%d output(s) released%s", len(outs), note), nil
}

// holdOutputs records accepted files as pending, with the sha256 an approval will check.
// A file that cannot be hashed as the very file Select saw is refused.
func (r *Runner) holdOutputs(ctx context.Context, run *wes.Run, workDir string, accepted []egress.Candidate) []wes.Output {
	var held []wes.Output
	for _, c := range accepted {
		sum, err := egress.CandidateSHA256(workDir, c)
		if err != nil {
			r.audit(ctx, run, egress.Refusal{Path: c.Path, Kind: egress.RefuseChanged,
				Reason: "changed or became unreadable after it was selected"}.Event())
			continue
		}
		o := wes.Output{Path: c.Path, Size: c.Size, SHA256: sum, ContentType: egress.ContentType(c.Path), Status: wes.OutputPending}
		held = append(held, o)
		r.audit(ctx, run, wes.AuditEvent{Action: actionHold, Outcome: "ok", Reason: "held for a data controller's review",
			Detail: map[string]string{"path": o.Path, "size": strconv.FormatInt(o.Size, 10), "sha256": o.SHA256}})
	}
	return held
}

// dropObjects removes whatever a catalogue run stored in the result store, for a run
// that does not end COMPLETE after all.
func (r *Runner) dropObjects(ctx context.Context, run *wes.Run) {
	if r.cfg.Results == nil {
		return
	}
	if err := r.cfg.Results.DeletePrefix(context.WithoutCancel(ctx), egress.KeyPrefix(run.Owner, run.ID)); err != nil {
		r.log.Error("objects of an unreleased run could not be deleted", "run_id", run.ID, "err", err)
	}
}
