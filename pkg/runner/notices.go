package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// notifyTimeout bounds handing one notice to the Notifier (queueing its deliveries).
const notifyTimeout = 10 * time.Second

// addNotices appends to run, inside the store update that ended it (stored as version
// v), the notices of its end: run.terminal, and for a sealed run ending COMPLETE,
// outputs.pending_review when it holds outputs for review and output.released when some
// left the zone. They go through the outbox like the audit event, so a worker that dies
// after the update does not lose them; the notice id (run id and effect id) stays the
// same on every retry, for receivers to de-duplicate.
func (r *Runner) addNotices(run *wes.Run, v int64, now time.Time) []string {
	if r.cfg.Notify == nil || !run.State.Terminal() {
		return nil
	}
	kinds := []string{wes.NoticeRunTerminal}
	pending, released := 0, 0
	for _, o := range run.Released {
		switch o.Status {
		case wes.OutputPending:
			pending++
		case wes.OutputReleased:
			released++
		}
	}
	if run.State == wes.StateComplete && pending > 0 {
		kinds = append(kinds, wes.NoticePendingReview)
	}
	if run.State == wes.StateComplete && released > 0 {
		kinds = append(kinds, wes.NoticeOutputReleased)
	}
	var ids []string
	for _, k := range kinds {
		id := fmt.Sprintf("%d-notify-%s", v, k)
		run.Effects = append(run.Effects, wes.Effect{ID: id, Kind: wes.EffectNotify,
			Notice: wes.NewNotice(k, run.ID+"/"+id, run, now), NotBefore: now.Add(effectGrace)})
		ids = append(ids, id)
	}
	return ids
}

// notify hands a notice effect to the Notifier. A worker without one drops it (logged):
// notices are only stored where one is configured, so this is a worker configured unlike
// the others, and keeping the effect would have every reconciler pass claim it again.
func (r *Runner) notify(ctx context.Context, run *wes.Run, e wes.Effect) (bool, error) {
	if e.Notice == nil {
		return true, nil
	}
	if r.cfg.Notify == nil {
		r.log.Warn("a notice was dropped: this worker has no notifications configured", "run_id", run.ID, "notice", e.Notice.Kind)
		return true, nil
	}
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	return true, r.cfg.Notify.Notify(nctx, *e.Notice)
}
