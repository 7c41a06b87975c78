package redisstore

import (
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// storeErr turns an error from go-redis into a wes.Error. Errors that are already a
// wes.Error pass through, so a callback's error reaches the caller unchanged.
func storeErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var we *wes.Error
	if errors.As(err, &we) {
		return err
	}
	if transient(err) {
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the run store cannot be reached; try again later", Err: err}
	}
	return wes.Internal(err, "the run store failed to %s", what)
}

// transient reports whether err means Redis cannot serve us right now, rather than a
// bug: network and pool errors, timeouts and cancellations, and server replies that
// say "later" (loading, read-only replica, failover, out of memory).
func transient(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		// Not a reply from Redis: a dial, read or write error, a closed client, a pool
		// timeout or a context error.
		return true
	}
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err) ||
		redis.IsMasterDownError(err) || redis.IsOOMError(err)
}
