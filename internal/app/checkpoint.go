package app

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/spe4hd/enclave/pkg/audit"
)

// newCheckpointer builds the audit checkpointer when audit.checkpoint is on: every
// worker has one, and the lease "audit-checkpoint" lets one of them write at a time.
// The key was checked by Validate already; reading it again here catches a file changed
// since.
func (a *App) newCheckpointer() (*audit.Checkpointer, error) {
	c := a.cfg.Audit.Checkpoint
	if !c.Enabled() {
		return nil, nil
	}
	key, err := audit.LoadSigningKey(c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("audit.checkpoint.key_file: %w", err)
	}
	host, _ := os.Hostname()
	rnd := make([]byte, 4)
	_, _ = rand.Read(rnd)
	return a.zone.audit.NewCheckpointer(audit.CheckpointerConfig{
		Key: key, Store: a.zone.results, Interval: c.Interval,
		Lease: a.store.Lease("audit-checkpoint"), Holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(rnd)),
		Logger: a.log,
	}), nil
}
