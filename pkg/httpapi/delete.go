package httpapi

import (
	"context"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

// DeleteRun implements DELETE /runs/{run_id}: a finished run's work directory, engine
// logs and released objects are removed; the run's record (state, times, Enclave's
// messages) and its audit trail stay. Owner or administrator; audited before anything is
// removed. Deleting again is harmless. runner.DeleteRunFiles does the deleting, as for
// the retention sweeper.
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
	who := "its owner"
	if r.Owner != p.Subject {
		who = "an administrator"
	}
	// Finish even if the client goes away: a half-deleted run is worse than either.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dispatchTimeout)
	defer cancel()
	if err := runner.DeleteRunFiles(dctx, s.deps.Store, s.deps.Results, s.cfg.DataDir, r, who); err != nil {
		return nil, err
	}
	s.log.Info("run files deleted", "run_id", r.ID, "by", p.Subject)
	return api.DeleteRun200JSONResponse{RunId: r.ID}, nil
}
