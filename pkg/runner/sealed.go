package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

// actionVerify is the audit action of checking a catalogue workflow's pinned files (the
// egress actions are egress.Releaser's).
const actionVerify = "workflow.verify"

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
	// What was staged, from the same catalogue: the run's provenance once it starts.
	if prov, ok := cat.Provenance(run.Workflow, run.Datasets); ok {
		cp.Provenance = &prov
	}
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

// egressOutputs decides what of a finished catalogue run leaves the zone, through the
// one egress path (egress.Releaser.Finish) under its workflow's output policy. A *refusal
// means the run must end in SYSTEM_ERROR with its message; nothing is released then.
func (r *Runner) egressOutputs(ctx context.Context, run *wes.Run, workDir string) ([]wes.Output, string, error) {
	if r.cfg.Catalog == nil {
		return nil, "", &refusal{"this worker has no workflow catalogue; the run's outputs were not released"}
	}
	e, ok := r.cfg.Catalog.Catalog().Entry(run.Workflow)
	if !ok {
		return nil, "", &refusal{fmt.Sprintf("workflow %s left the catalogue before the run ended; its outputs were not released", run.Workflow)}
	}
	// The zone paths of the datasets the run read, for the overlap check.
	var datasets []string
	paths := r.cfg.Catalog.Catalog().DatasetPaths()
	for _, id := range run.Datasets {
		// A dataset that left the catalogue has no path: "" cannot be read, so the
		// overlap check fails rather than pass without it.
		datasets = append(datasets, paths[id])
	}
	outs, note, err := r.releaser().Finish(ctx, run, workDir, e.Outputs, e.Egress, datasets)
	var f *egress.Failure
	if errors.As(err, &f) {
		return nil, "", &refusal{f.Msg}
	}
	return outs, note, err
}

// releaser is the one egress path, with this runner's result store, limits and trail.
func (r *Runner) releaser() *egress.Releaser {
	return &egress.Releaser{Results: r.cfg.Results, Limits: r.cfg.Egress, Audit: r.cfg.Audit, Log: r.log, Now: r.cfg.Now, Metrics: r.cfg.Metrics}
}
