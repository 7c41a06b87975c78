package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// IdempotencyHeader names the optional key of a POST /runs: the same owner sending the
// same key within Config.IdempotencyWindow gets the run the first request created.
const IdempotencyHeader = "Idempotency-Key"

// DefaultIdempotencyWindow is the default Config.IdempotencyWindow.
const DefaultIdempotencyWindow = 24 * time.Hour

// idemPendingTTL bounds how long a key stays "in progress": longer than a submission's
// store write may take, so a live first request is never overtaken, short enough that a
// key whose first request died is usable again soon.
const idemPendingTTL = 2 * dispatchTimeout

type idemKeyCtx struct{}

// idemKeyFrom is the request's Idempotency-Key and whether one was sent.
func idemKeyFrom(ctx context.Context) (string, bool) {
	k, ok := ctx.Value(idemKeyCtx{}).(string)
	return k, ok
}

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

// requestHash identifies what was submitted: every form field and every attachment's
// name and contents (read back from the work directory), so a key reused for a
// different request is noticed. Each item is length-prefixed, so no two different
// forms hash alike by shifting bytes between items.
func requestHash(f *runForm, root *os.Root) (string, error) {
	h := sha256.New()
	names := make([]string, 0, len(f.fields))
	for n := range f.fields {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		writeItem(h, "field", n)
		writeItem(h, "value", f.fields[n])
	}
	for _, a := range f.attachments {
		writeItem(h, "file", a)
		file, err := root.Open(a)
		if err != nil {
			return "", wes.Internal(err, "could not read back an attachment")
		}
		fh := sha256.New()
		_, err = io.Copy(fh, file)
		file.Close()
		if err != nil {
			return "", wes.Internal(err, "could not read back an attachment")
		}
		writeItem(h, "content", string(fh.Sum(nil)))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeItem(h hash.Hash, kind, v string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(v)))
	h.Write([]byte(kind))
	h.Write(n[:])
	h.Write([]byte(v))
}

// idemResult is what claimIdemKey decided: a run to answer with (a repeat), or a fresh
// claim the caller completes or releases.
type idemResult struct {
	repeat  string // run id of the earlier submission; "" when this one goes ahead
	claimed bool
}

// claimIdemKey reserves key for this submission, or finds the earlier one that used it.
func (s *server) claimIdemKey(ctx context.Context, owner, key string, c wes.IdemClaim) (idemResult, error) {
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
