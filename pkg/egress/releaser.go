package egress

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/egress/checks"
	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Releaser is the one path by which a run's outputs leave the zone: when the run ends
// (Finish: released at once under egress auto, held for a data controller under egress
// review) and when a reviewer approves held files (Approve). Selection under the
// workflow's allow-list and the limits, the re-checks, the upload and the audit event of
// every file happen here and nowhere else; the runner and the run service both use it.
type Releaser struct {
	// Results receives released outputs. nil: Finish of an auto workflow and Approve fail.
	Results wes.ResultStore
	// Limits are the deployment's output limits; a workflow's own limits win.
	Limits Limits
	// Audit records each file's fate; nil records nothing.
	Audit wes.Auditor
	Log   *slog.Logger
	// Now stamps audit events (tests); default time.Now.
	Now func() time.Time
	// Metrics counts files by outcome and failed disclosure checks; nil counts nothing.
	Metrics *metrics.Registry
}

// ActionHold is the audit action of a file held for review.
const ActionHold = "egress.hold"

// auditTimeout bounds one audit write, on a context that outlives a cancelled request.
const auditTimeout = 10 * time.Second

// Failure is why none of a run's outputs could be released: a sentence for its owner.
// Nothing was released then (objects already stored were removed).
type Failure struct{ Msg string }

func (f *Failure) Error() string { return f.Msg }

func (g *Releaser) log() *slog.Logger {
	if g.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Log
}

// audit records e about run, by actor ("system" when empty). A failed write is logged:
// the decision stands, and the trail says what it could.
func (g *Releaser) audit(ctx context.Context, run *wes.Run, actor string, e wes.AuditEvent) {
	g.observe(e)
	if g.Audit == nil {
		return
	}
	if actor == "" {
		actor = "system"
	}
	e.Actor, e.RunID, e.Workflow, e.Dataset = actor, run.ID, run.Workflow, strings.Join(run.Datasets, ",")
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
		if g.Now != nil {
			e.Time = g.Now().UTC()
		}
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := g.Audit.Record(actx, e); err != nil {
		g.log().Error("an audit event could not be recorded", "run_id", run.ID, "action", e.Action, "err", err)
	}
}

// Finish decides what of a finished run leaves the zone under its workflow's output
// policy pol and mode (wes.EgressAuto or wes.EgressReview): refused files are audited;
// accepted ones are released to the result store (auto) or recorded as pending, with the
// sha256 an approval will check (review). It returns the outputs and a note for the
// run's log. A *Failure means the run must not end COMPLETE.
//
// Files the workflow's disclosure checks (pol.Checks) apply to are checked first, against
// the run's input datasets at the zone paths datasets for the overlap check: under auto a
// file that fails one stays in the zone (audited); under review it is held with its
// results, for the reviewer to see. Every output carries its results.
func (g *Releaser) Finish(ctx context.Context, run *wes.Run, workDir string, pol wes.OutputPolicy, mode string, datasets []string) ([]wes.Output, string, error) {
	log := g.log().With("run_id", run.ID)
	accepted, refused, err := Select(workDir, pol, g.Limits)
	if err != nil {
		log.Error("selecting outputs failed", "err", err)
		return nil, "", &Failure{"the run's outputs could not be checked against the workflow's output allow-list"}
	}
	limited := 0
	for _, f := range refused {
		if f.Kind != RefuseNotAllowed {
			limited++
		}
		g.audit(ctx, run, "", f.Event())
	}
	note := ""
	if limited > 0 {
		note = fmt.Sprintf("; %d other file(s) stayed in the zone (links, special files or over the size and count limits)", limited)
	}
	results := g.disclose(workDir, pol, accepted, datasets)
	g.observeChecks(results)
	if mode == wes.EgressReview {
		held := g.hold(ctx, run, workDir, pol, accepted, results)
		return held, fmt.Sprintf("%d output(s) wait for a data controller's review%s", len(held), note), nil
	}
	var blocked int
	accepted, blocked = g.blockFailed(ctx, run, accepted, results)
	if blocked > 0 {
		note += fmt.Sprintf("; %d file(s) failed the workflow's disclosure checks and stayed in the zone", blocked)
	}
	if g.Results == nil {
		return nil, "", &Failure{"this worker has no result store; the run's outputs were not released"}
	}
	outs, err := Release(ctx, g.Results, KeyPrefix(run.Owner, run.ID), workDir, accepted,
		func(ev wes.AuditEvent) { g.audit(ctx, run, "", ev) })
	if err != nil {
		log.Error("uploading outputs failed", "err", err)
		g.Drop(ctx, run)
		return nil, "", &Failure{"the run's outputs could not be uploaded to the result store"}
	}
	for i := range outs {
		outs[i].Checks = results[outs[i].Path]
	}
	return outs, fmt.Sprintf("%d output(s) released%s", len(outs), note), nil
}

// blockFailed keeps the files that passed their disclosure checks (or have none) and
// audits each one that failed, which stays in the zone.
func (g *Releaser) blockFailed(ctx context.Context, run *wes.Run, accepted []Candidate, results map[string][]wes.CheckResult) ([]Candidate, int) {
	kept := accepted[:0:0]
	blocked := 0
	for _, c := range accepted {
		if res, ok := results[c.Path]; ok && !checks.Passed(res) {
			blocked++
			g.audit(ctx, run, "", Refusal{Path: c.Path, Kind: RefuseCheck,
				Reason: "failed the workflow's disclosure checks: " + checks.Failed(res)}.Event())
			continue
		}
		kept = append(kept, c)
	}
	return kept, blocked
}

// hold records accepted files as pending, with the sha256 an approval will check. A file
// that cannot be hashed as the very file Select saw is refused.
func (g *Releaser) hold(ctx context.Context, run *wes.Run, workDir string, pol wes.OutputPolicy, accepted []Candidate, results map[string][]wes.CheckResult) []wes.Output {
	var held []wes.Output
	for _, c := range accepted {
		sum, err := CandidateSHA256(workDir, c)
		if err != nil {
			g.audit(ctx, run, "", Refusal{Path: c.Path, Kind: RefuseChanged,
				Reason: "changed or became unreadable after it was selected"}.Event())
			continue
		}
		o := wes.Output{Path: c.Path, Size: c.Size, SHA256: sum, ContentType: ContentType(c.Path), Status: wes.OutputPending,
			Checks: results[c.Path], ApprovalsRequired: RequiredApprovals(pol, g.Limits)}
		held = append(held, o)
		d := map[string]string{"path": o.Path, "size": strconv.FormatInt(o.Size, 10), "sha256": o.SHA256,
			"approvals_required": strconv.Itoa(o.ApprovalsRequired)}
		if o.Checks != nil {
			d["checks"] = "passed"
			if !checks.Passed(o.Checks) {
				d["checks"] = "failed: " + checks.Failed(o.Checks)
			}
		}
		g.audit(ctx, run, "", wes.AuditEvent{Action: ActionHold, Outcome: "ok", Reason: "held for a data controller's review", Detail: d})
	}
	return held
}

// Approve releases a run's pending outputs on actor's approval. Each is selected again
// under the workflow's current allow-list pol and the limits, and released only if its
// content still has the sha256 recorded when the run ended; one that does not is withheld
// (rejected) and audited. It returns each file's new state by path and the keys of the
// objects it stored, which the caller must Discard if it cannot record the decision. An
// error means nothing is released: what was stored is already removed.
func (g *Releaser) Approve(ctx context.Context, run *wes.Run, workDir string, pol wes.OutputPolicy, pending []wes.Output, actor string) (map[string]wes.Output, []string, error) {
	if g.Results == nil {
		return nil, nil, wes.Errorf(wes.EUNAVAILABLE, "this server has no result store to release outputs with")
	}
	accepted, _, err := Select(workDir, pol, g.Limits)
	if err != nil {
		return nil, nil, err
	}
	cands := map[string]Candidate{}
	for _, c := range accepted {
		cands[c.Path] = c
	}
	audit := func(ev wes.AuditEvent) { g.audit(ctx, run, actor, ev) }
	withhold := func(o wes.Output, kind, why string) wes.Output {
		audit(Refusal{Path: o.Path, Kind: kind, Reason: why}.Event())
		o.Status, o.Reason = wes.OutputRejected, "approved, but it "+why
		return o
	}
	decided := map[string]wes.Output{}
	var stored []string
	for _, o := range pending {
		c, ok := cands[o.Path]
		if !ok || c.Size != o.Size {
			decided[o.Path] = withhold(o, RefuseChanged, "changed, moved or left the allow-list since the run ended; not released")
			continue
		}
		if sum, err := CandidateSHA256(workDir, c); err != nil || sum != o.SHA256 {
			decided[o.Path] = withhold(o, RefuseChanged, "does not have the sha256 recorded when the run ended; not released")
			continue
		}
		outs, err := Release(ctx, g.Results, KeyPrefix(run.Owner, run.ID), workDir, []Candidate{c}, audit)
		if err != nil {
			g.Discard(ctx, run.ID, stored)
			g.log().Warn("releasing approved outputs failed", "run_id", run.ID, "err", err)
			return nil, nil, wes.Errorf(wes.EUNAVAILABLE, "the result store could not take the outputs of run %s; they stay pending; try again", run.ID)
		}
		if len(outs) == 0 { // Release refused it (and audited why)
			o.Status, o.Reason = wes.OutputRejected, "approved, but it changed or could not be read when it was released; not released"
			decided[o.Path] = o
			continue
		}
		stored = append(stored, outs[0].Key)
		if outs[0].SHA256 != o.SHA256 { // changed while it was copied
			g.Discard(ctx, run.ID, []string{outs[0].Key})
			decided[o.Path] = withhold(o, RefuseChanged, "changed while it was released; withdrawn")
			continue
		}
		outs[0].Checks = o.Checks // checked at the run's end, on these very bytes
		decided[o.Path] = outs[0]
	}
	return decided, stored, nil
}

// Discard removes objects stored for outputs that ended up not released. Each key is a
// whole output's key; as a prefix it can only also match longer names of the same run
// that have not been stored yet (outputs are released in lexical order).
func (g *Releaser) Discard(ctx context.Context, runID string, keys []string) {
	for _, k := range keys {
		if err := g.Results.DeletePrefix(context.WithoutCancel(ctx), k); err != nil {
			g.log().Error("an object of an unreleased output could not be deleted", "run_id", runID, "key", k, "err", err)
		}
	}
}

// Drop removes whatever a run stored in the result store, for a run that does not end
// COMPLETE after all.
func (g *Releaser) Drop(ctx context.Context, run *wes.Run) {
	if g.Results == nil {
		return
	}
	if err := g.Results.DeletePrefix(context.WithoutCancel(ctx), KeyPrefix(run.Owner, run.ID)); err != nil {
		g.log().Error("objects of an unreleased run could not be deleted", "run_id", run.ID, "err", err)
	}
}
