package runs

import (
	"context"

	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Delete removes a finished run's work directory, engine logs and released objects; the
// run's record (state, times, Enclave's messages) and its audit trail stay. Owner or
// administrator; audited before anything is removed. Deleting again is harmless.
// runner.DeleteRunFiles does the deleting, as for the retention sweeper.
func (s *Service) Delete(ctx context.Context, p *wes.Principal, id string) (*wes.Run, error) {
	r, err := s.owned(ctx, p, id, "delete")
	if err != nil {
		return nil, err
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
	return r, nil
}
