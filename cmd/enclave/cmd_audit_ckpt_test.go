package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/testsupport/apptest"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
)

// keyPair writes an Ed25519 signing key (mode 0600) and its public key as PEM files.
func keyPair(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	p, k, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pder, _ := x509.MarshalPKIXPublicKey(p)
	priv, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub.pem")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// waitCheckpoints polls dir until it holds at least n checkpoints for the chain's seq
// at least minSeq, or fails after 30 s.
func waitCheckpoints(t *testing.T, dir string, minSeq int64) []audit.NamedCheckpoint {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cps, _ := audit.LoadCheckpoints(dir)
		for _, c := range cps {
			if c.Seq >= minSeq {
				return cps
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of seq >= %d under %s within 30s (have %d)", minSeq, dir, len(cps))
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

// rewriteTrail is the attack: someone with Redis access edits the first entry and
// recomputes every hash and the head, so that the chain holds again.
func rewriteTrail(t *testing.T, rdb *goredis.Client, prefix string) {
	t.Helper()
	ctx := context.Background()
	stream := prefix + "audit:stream"
	msgs, err := rdb.XRange(ctx, stream, "-", "+").Result()
	if err != nil || len(msgs) == 0 {
		t.Fatalf("reading the trail: %d entries, %v", len(msgs), err)
	}
	if err := rdb.Del(ctx, stream).Err(); err != nil {
		t.Fatal(err)
	}
	prev, id := audit.Genesis, ""
	for i, m := range msgs {
		ev := m.Values["event"].(string)
		if i == 0 {
			ev = strings.Replace(ev, `"outcome":"ok"`, `"outcome":"refused"`, 1)
		}
		seq := int64(i + 1)
		h := audit.Hash(seq, prev, []byte(ev))
		if id, err = rdb.XAdd(ctx, &goredis.XAddArgs{Stream: stream, ID: m.ID, Values: map[string]any{
			"seq": strconv.FormatInt(seq, 10), "prev": prev, "hash": h, "event": ev}}).Result(); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
	if err := rdb.HSet(ctx, prefix+"audit:head", "seq", len(msgs), "hash", prev, "id", id).Err(); err != nil {
		t.Fatal(err)
	}
}

// A whole Enclave with audit.checkpoint on: its worker signs the head into the result
// store; `enclave audit verify --checkpoints` passes the real trail, and fails it once
// rewritten with recomputed hashes (which the plain verify passes), and fails
// checkpoints checked with another key.
func TestAuditVerifyCheckpointsAgainstRealServer(t *testing.T) {
	dir := t.TempDir()
	priv, pub := keyPair(t, dir, "checkpoint")
	_, otherPub := keyPair(t, dir, "other")
	cfg := apptest.Config(t, "cli-ckpt", filepath.Join(dir, "data"))
	cfg.Audit.Checkpoint.KeyFile = priv
	cfg.Audit.Checkpoint.Interval = time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	env := []string{"ENCLAVE_URL=http://" + apptest.Start(t, cfg)}
	ckpts := filepath.Join(cfg.ResultsLocalDir(), "objects", audit.CheckpointPrefix)

	// Each export is an audit event: two exports, two checkpoints at least.
	export := filepath.Join(dir, "audit.jsonl")
	exportTrail := func() {
		t.Helper()
		if _, errOut, code := cli(t, env, "audit", "export", "-O", export, "--force"); code != 0 {
			t.Fatalf("audit export: exit %d, %q", code, errOut)
		}
	}
	exportTrail()
	waitCheckpoints(t, ckpts, 1)
	exportTrail()
	waitCheckpoints(t, ckpts, 2)
	exportTrail()

	out, errOut, code := cli(t, env, "audit", "verify", "--checkpoints", ckpts, "--public-key", pub, export)
	if code != 0 || !strings.HasPrefix(out, "audit chain ok: 3 entries") || !strings.Contains(out, "checkpoints ok: ") {
		t.Fatalf("verify --checkpoints of the intact trail: exit %d, out %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = cli(t, env, "audit", "verify", "--checkpoints-from-server", "--public-key", pub, export)
	if code != 0 || !strings.Contains(out, "checkpoints ok: ") {
		t.Fatalf("verify --checkpoints-from-server of the intact trail: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if out, _, code := cli(t, env, "audit", "verify", "--checkpoints", ckpts, "--public-key", otherPub, export); code != 1 || !strings.Contains(out, audit.ProblemSignature) {
		t.Errorf("verify with another public key: exit %d, out %q, want bad_checkpoint", code, out)
	}
	if _, errOut, code := cli(t, env, "audit", "verify", "--checkpoints", ckpts, export); code != 1 || !strings.Contains(errOut, "--public-key") {
		t.Errorf("verify --checkpoints without a key: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, env, "audit", "verify", "--public-key", pub, "--checkpoints", t.TempDir(), export); code != 1 || !strings.Contains(errOut, "no checkpoint files") {
		t.Errorf("verify with an empty checkpoint directory: exit %d, %q", code, errOut)
	}

	rewriteTrail(t, testutil.Redis(t), cfg.Redis.KeyPrefix)
	exportTrail()
	if out, errOut, code := cli(t, env, "audit", "verify", export); code != 0 {
		t.Fatalf("the rewrite is not consistent, so it does not test checkpoints: exit %d, out %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = cli(t, env, "audit", "verify", "--checkpoints", ckpts, "--public-key", pub, export)
	if code != 1 || !strings.Contains(out, audit.ProblemCheckpoint) || !strings.Contains(errOut, "audit chain broken") {
		t.Errorf("verify --checkpoints of the rewritten trail: exit %d, out %q, stderr %q; want checkpoint_mismatch", code, out, errOut)
	}
	// The same with the checkpoints from the server and a fresh export from it.
	out, errOut, code = cli(t, env, "audit", "verify", "--checkpoints-from-server", "--public-key", pub)
	if code != 1 || !strings.Contains(out, audit.ProblemCheckpoint) {
		t.Errorf("verify --checkpoints-from-server of the rewritten trail: exit %d, out %q, stderr %q; want checkpoint_mismatch", code, out, errOut)
	}
}
