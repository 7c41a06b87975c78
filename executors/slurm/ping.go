package slurm

import (
	"context"

	"github.com/spe4hd/enclave/pkg/wes"
)

var _ wes.Pinger = (*Executor)(nil)

// Ping runs `true` through the executor's runner, for readiness probes: over SSH it
// shows that the connection (re-dialled if it dropped) runs commands on the login node;
// without SSH it costs a fork. It asks nothing of SLURM itself, whose controller may be
// busy: a slow squeue is the reconciler's concern, not a reason to take the worker out.
func (e *Executor) Ping(ctx context.Context) error {
	if _, err := e.run.run(ctx, nil, "true"); err != nil {
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the SLURM login node cannot be reached", Err: err}
	}
	return nil
}
