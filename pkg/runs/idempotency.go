package runs

import (
	"context"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// IdempotencyHeader names the optional key of a POST /runs: the same owner sending the
// same key within Config.IdempotencyWindow gets the run the first request created.
const IdempotencyHeader = "Idempotency-Key"

// idemPendingTTL bounds how long a key stays "in progress": longer than a submission's
// store write may take, so a live first request is never overtaken, short enough that a
// key whose first request died is usable again soon.
const idemPendingTTL = 2 * dispatchTimeout

// checkIdemKey refuses keys that are empty-but-sent, too long or not printable ASCII.
func checkIdemKey(k string) error {
	if len(k) == 0 || len(k) > 255 {
		return wes.Errorf(wes.EINVALID, "the %s header must be 1 to 255 characters long; got %d", IdempotencyHeader, len(k))
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return wes.Errorf(wes.EINVALID, "the %s header must be printable ASCII (a UUID is a good choice)", IdempotencyHeader)
		}
	}
	return nil
}

// retryConflict is a 409 that tells the client when to try again.
type retryConflict struct {
	err   *wes.Error
	after time.Duration
}

func (e retryConflict) Error() string             { return e.err.Error() }
func (e retryConflict) Unwrap() error             { return e.err }
func (e retryConflict) RetryAfter() time.Duration { return e.after }

// idemResult is what claimIdemKey decided: a run to answer with (a repeat), or a fresh
// claim the caller completes or releases.
type idemResult struct {
	repeat  string // run id of the earlier submission; "" when this one goes ahead
	claimed bool
}

// claimIdemKey reserves key for this submission, or finds the earlier one that used it.
func (s *Service) claimIdemKey(ctx context.Context, owner, key string, c wes.IdemClaim) (idemResult, error) {
	old, err := s.deps.Idempotency.Reserve(ctx, owner, key, c, idemPendingTTL)
	if err != nil {
		return idemResult{}, err
	}
	if old == nil {
		return idemResult{claimed: true}, nil
	}
	if old.Hash != c.Hash {
		return idemResult{}, wes.Errorf(wes.ECONFLICT, "this %s was already used for a different request; "+
			"send a new key for a new run, or the same request to get the run it created", IdempotencyHeader)
	}
	if !old.Pending {
		return idemResult{repeat: old.RunID}, nil
	}
	// The first request may have stored its run and died before marking the key done.
	if r, err := s.deps.Store.Get(ctx, old.RunID); err == nil && r.Owner == owner {
		return idemResult{repeat: old.RunID}, nil
	}
	return idemResult{}, retryConflict{err: wes.Errorf(wes.ECONFLICT,
		"a submission with this %s is in progress; retry", IdempotencyHeader), after: 2 * time.Second}
}
