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

	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// IdempotencyHeader names the optional key of a POST /runs: the same owner sending the
// same key within the run service's IdempotencyWindow gets the run the first request
// created.
const IdempotencyHeader = runs.IdempotencyHeader

type idemKeyCtx struct{}

// idemKeyFrom is the request's Idempotency-Key and whether one was sent.
func idemKeyFrom(ctx context.Context) (string, bool) {
	k, ok := ctx.Value(idemKeyCtx{}).(string)
	return k, ok
}

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
