package runs

import (
	"context"
	"io"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// actionCheckpoints is recorded only when refused: a successful read changes nothing,
// and an event per read would move the head that the checkpoints are about.
const actionCheckpoints = "audit.checkpoints"

// AuditCheckpoints lets an administrator read the signed checkpoints of the audit chain
// that the workers stored in the result store; the returned function writes them to w
// (audit.Log.ExportCheckpoints). They are passed on unchecked: the reader checks the
// signatures with the public key. ENOTFOUND without an audit trail or with a result
// store that cannot list.
func (s *Service) AuditCheckpoints(ctx context.Context, p *wes.Principal) (func(ctx context.Context, w io.Writer) error, error) {
	if p == nil {
		return nil, errUnauthenticated
	}
	if err := s.requireAdmin(ctx, p, actionCheckpoints); err != nil {
		return nil, err
	}
	l, err := s.auditLog()
	if err != nil {
		return nil, err
	}
	store := s.deps.Results
	if _, ok := store.(audit.KeyLister); !ok {
		return nil, wes.Errorf(wes.ENOTFOUND, "this server's result store cannot list audit checkpoints; copy them from the store's %s prefix", audit.CheckpointPrefix)
	}
	return func(ctx context.Context, w io.Writer) error { return l.ExportCheckpoints(ctx, store, w) }, nil
}
