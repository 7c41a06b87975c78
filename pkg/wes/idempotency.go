package wes

import (
	"context"
	"time"
)

// IdemClaim is what an IdempotencyStore holds for one owner's Idempotency-Key: the hash
// of the request that first used it and the run id that request was given.
type IdemClaim struct {
	Hash    string
	RunID   string
	Pending bool // the first request has not stored its run yet (or died doing so)
}

// IdempotencyStore remembers, per owner and client-chosen key, which run a submission
// created, so a retried POST /runs returns that run instead of making a second one.
type IdempotencyStore interface {
	// Reserve claims key for owner as pending for runID, for pendingTTL. It returns
	// (nil, nil) when the claim is new, or the existing claim when the key is taken.
	Reserve(ctx context.Context, owner, key string, c IdemClaim, pendingTTL time.Duration) (*IdemClaim, error)
	// Complete marks the pending claim for c.RunID as done, remembered for window.
	Complete(ctx context.Context, owner, key string, c IdemClaim, window time.Duration) error
	// Release drops the pending claim for runID (the submission failed), so a retry can
	// use the key; a claim for another run is left alone.
	Release(ctx context.Context, owner, key, runID string) error
}
