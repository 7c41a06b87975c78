package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A checkpoint anchors the chain head outside Redis. Someone who can write Redis can
// rebuild the whole chain with fresh hashes (the scheme is public), and Verify cannot
// tell; but they cannot sign a statement "entry seq N had hash H" with a key that is
// not on the Redis hosts, nor take back one already stored in the result store. So a
// worker signs the head every audit.checkpoint.interval and stores the statement as an
// object of its own, and VerifyJSONLinesAnchored checks an export against them.

// CheckpointVersion is the format of Checkpoint (its "v").
const CheckpointVersion = 1

// CheckpointPrefix is the key prefix of every checkpoint object in the result store.
// Run outputs are stored under egress.KeyPrefix, which starts with 32 hex digits (a
// hash of the owner), so no run, whatever its owner is called, can write or delete
// under a prefix starting with "_".
const CheckpointPrefix = "_audit/checkpoints/"

// checkpointContext is signed in front of the canonical JSON, so a checkpoint signature
// can never be taken for a signature over anything else made with the same key.
const checkpointContext = "enclave-audit-checkpoint-v1\n"

// Checkpoint says which entry was the chain's last at a time. Its canonical form is its
// JSON encoding with the fields in this order, the time in RFC 3339 with nanoseconds in
// UTC, and no spaces: the signature covers checkpointContext followed by those bytes.
type Checkpoint struct {
	Version int    `json:"v"`
	Chain   string `json:"chain"` // the stream's Redis key, e.g. "enclave:audit:stream"
	// Seq is the last entry's seq, which is also the number of entries the chain has
	// had: seqs run from 1 without gaps.
	Seq   int64  `json:"seq"`
	ID    string `json:"id"`   // the last entry's stream id
	Hash  string `json:"hash"` // the last entry's chain hash
	Time  string `json:"time"` // when the checkpoint was made (RFC 3339, UTC)
	KeyID string `json:"key_id"`
}

// SignedCheckpoint is a checkpoint and its Ed25519 signature (base64, standard
// encoding): one object in the result store.
type SignedCheckpoint struct {
	Checkpoint
	Signature string `json:"signature"`
}

// canonical is the exact byte string signed.
func (c Checkpoint) canonical() []byte {
	b, _ := json.Marshal(c) // a struct of strings and integers always encodes
	return append([]byte(checkpointContext), b...)
}

// SignCheckpoint signs c with key, setting its version and key id.
func SignCheckpoint(c Checkpoint, key ed25519.PrivateKey) SignedCheckpoint {
	c.Version = CheckpointVersion
	c.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	return SignedCheckpoint{Checkpoint: c, Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.canonical()))}
}

// Check verifies the signature with the key named by the checkpoint's key id among keys.
// The error says which checkpoint failed and why.
func (s SignedCheckpoint) Check(keys []ed25519.PublicKey) error {
	if s.Version != CheckpointVersion {
		return fmt.Errorf("checkpoint version %d is not %d", s.Version, CheckpointVersion)
	}
	var pub ed25519.PublicKey
	var ids []string
	for _, k := range keys {
		id := KeyID(k)
		ids = append(ids, id)
		if id == s.KeyID {
			pub = k
		}
	}
	if pub == nil {
		return fmt.Errorf("signed with key %q, which is none of the public keys given (%s)", s.KeyID, strings.Join(ids, ", "))
	}
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil || !ed25519.Verify(pub, s.Checkpoint.canonical(), sig) {
		return errors.New("the signature does not match the checkpoint: it was altered or not signed with this key")
	}
	return nil
}

// ParseCheckpoint reads one checkpoint object. Unknown fields are refused: nothing a
// signature does not cover may pass as part of a checkpoint.
func ParseCheckpoint(b []byte) (SignedCheckpoint, error) {
	var s SignedCheckpoint
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return SignedCheckpoint{}, fmt.Errorf("not a checkpoint: %w", err)
	}
	if dec.More() {
		return SignedCheckpoint{}, errors.New("not a checkpoint: more than one JSON value")
	}
	if _, err := time.Parse(time.RFC3339Nano, s.Time); err != nil || s.Seq < 1 || s.Chain == "" {
		return SignedCheckpoint{}, errors.New("not a checkpoint: it lacks a chain, a seq of 1 or more or an RFC 3339 time")
	}
	return s, nil
}

// Key is where the checkpoint is stored: under CheckpointPrefix, a directory per chain
// (a hash of its name, which may hold characters object stores dislike), then the seq
// and the time, so that keys sort by seq and two checkpoints never share a key.
func (c Checkpoint) Key() string {
	t, _ := time.Parse(time.RFC3339Nano, c.Time)
	return fmt.Sprintf("%s%020d-%s.json", checkpointDir(c.Chain), c.Seq, t.UTC().Format("20060102T150405.000000000Z"))
}

// checkpointDir is the key prefix of the checkpoints of chain.
func checkpointDir(chain string) string {
	h := sha256.Sum256([]byte(chain))
	return CheckpointPrefix + hex.EncodeToString(h[:8]) + "/"
}
