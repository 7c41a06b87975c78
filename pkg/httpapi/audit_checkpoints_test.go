package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"testing"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// GET /audit/checkpoints hands an administrator the stored checkpoints as they are, for
// the client to check with its public key; anyone else is refused and audited.
func TestListAuditCheckpoints(t *testing.T) {
	h := newSealedHarness(t)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	ctx := context.Background()
	if err := h.audit.Record(ctx, wes.AuditEvent{Actor: "system", Action: "test.event", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	sc, wrote, err := h.audit.NewCheckpointer(audit.CheckpointerConfig{Key: key, Store: h.results}).Checkpoint(ctx)
	if err != nil || !wrote {
		t.Fatalf("Checkpoint: %v, %v", wrote, err)
	}

	st, body, _ := h.do(http.MethodGet, BasePath+"/audit/checkpoints", "admin", "", nil)
	if st != http.StatusOK {
		t.Fatalf("as admin: %d %s", st, body)
	}
	cps, err := audit.ReadCheckpoints(bytes.NewReader(body))
	if err != nil || len(cps) != 1 || cps[0].SignedCheckpoint != sc || cps[0].Name != sc.Key() {
		t.Fatalf("listed %+v (%v), want the one written, %+v", cps, err, sc)
	}
	if err := cps[0].Check([]ed25519.PublicKey{pub}); err != nil {
		t.Errorf("the listed checkpoint does not verify: %v", err)
	}

	if st, body, _ := h.do(http.MethodGet, BasePath+"/audit/checkpoints", "alice", "", nil); st != http.StatusForbidden {
		t.Errorf("as a researcher: %d %s, want 403", st, body)
	}
	if ev := h.events("audit.checkpoints"); len(ev) != 1 || ev[0].Actor != "alice" || ev[0].Outcome != "refused" {
		t.Errorf("refusal events: %+v, want alice's refused read", ev)
	}
}
