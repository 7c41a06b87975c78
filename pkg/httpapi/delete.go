package httpapi

import (
	"context"
	"errors"
	"os"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

// DeleteRun implements DELETE /runs/{run_id}: a finished run's work directory, engine
// logs and released objects are removed; the run's record (state, times, Enclave's
// messages) and its audit trail stay. Owner or administrator; audited before anything is
// removed. Deleting again is harmless.
func (s *server) DeleteRun(ctx context.Context, req api.DeleteRunRequestObject) (api.DeleteRunResponseObject, error) {
	r, p, err := s.visibleRun(ctx, req.RunId)
	if err != nil {
		return nil, err
	}
	if r.Owner != p.Subject && !p.HasRole(wes.RoleAdmin) {
		return nil, wes.Errorf(wes.EFORBIDDEN, "only the run's owner or an %s may delete run %s", wes.RoleAdmin, r.ID)
	}
	if !r.State.Terminal() {
		return nil, wes.Errorf(wes.ECONFLICT, "run %s is %s; cancel it and wait until it has finished before deleting it", r.ID, r.State)
	}
	ev := runEvent(p.Subject, actionDelete, "ok", r)
	if s.record(ctx, ev) != nil {
		return nil, errAuditDown
	}
	// Finish even if the client goes away: a half-deleted run is worse than either.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dispatchTimeout)
	defer cancel()
	if s.deps.Results != nil {
		if err := s.deps.Results.DeletePrefix(dctx, egress.KeyPrefix(r.Owner, r.ID)); err != nil {
			return nil, err
		}
	}
	if err := os.RemoveAll(wes.LayoutFor(s.cfg.DataDir, r.ID).Root); err != nil {
		return nil, wes.Internal(err, "the files of run %s could not be removed", r.ID)
	}
	who := "its owner"
	if r.Owner != p.Subject {
		who = "an administrator"
	}
	_, err = s.deps.Store.Update(dctx, r.ID, func(cur *wes.Run) error {
		if cur.WorkDir == "" && len(cur.Released) == 0 && len(cur.Outputs) == 0 {
			return errFinished // deleted before: nothing to record
		}
		cur.WorkDir, cur.Released, cur.Outputs = "", nil, nil
		cur.AddSystemLog("the run's files and outputs were deleted by " + who)
		return nil
	})
	if err != nil && !errors.Is(err, errFinished) {
		return nil, err
	}
	s.log.Info("run files deleted", "run_id", r.ID, "by", p.Subject)
	return api.DeleteRun200JSONResponse{RunId: r.ID}, nil
}
