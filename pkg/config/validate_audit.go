package config

import (
	"time"

	"github.com/spe4hd/enclave/pkg/audit"
)

// minCheckpointInterval keeps a mistyped interval (1ms) from writing an object to the
// result store on every tick of a busy trail.
const minCheckpointInterval = time.Second

// auditCheckpoint checks the checkpoint keys; with a key file it reads the key, so that
// `enclave config check` and the start of a worker refuse a key anyone may read, or a
// file that is not an Ed25519 key, with the key's name and what to do.
func (v *validator) auditCheckpoint(c AuditCheckpointConfig) {
	v.Check("audit.checkpoint.interval", c.Interval == 0 || c.Interval >= minCheckpointInterval,
		"must be 0 (no checkpoints) or at least 1s; 5m is usual")
	if c.KeyFile == "" || c.Interval <= 0 {
		return
	}
	if _, err := audit.LoadSigningKey(c.KeyFile); err != nil {
		v.Add("audit.checkpoint.key_file", "%v", err)
	}
}
