package audit_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/egresstest"
	"github.com/spe4hd/enclave/pkg/egress/localfs"
	"github.com/spe4hd/enclave/pkg/egress/s3"
	"github.com/spe4hd/enclave/pkg/wes"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pub(k ed25519.PrivateKey) []ed25519.PublicKey {
	return []ed25519.PublicKey{k.Public().(ed25519.PublicKey)}
}

// rewriteWhole is the attack checkpoints answer: someone with write access to Redis who
// knows the (public) scheme edits one event and recomputes every hash after it, and the
// head, so that the chain holds again.
func rewriteWhole(t *testing.T, c *redis.Client, prefix string) {
	t.Helper()
	stream := prefix + "audit:stream"
	msgs, err := c.XRange(ctx(t), stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ctx(t), stream).Err(); err != nil {
		t.Fatal(err)
	}
	prev, id := audit.Genesis, ""
	for i, m := range msgs {
		ev := m.Values["event"].(string)
		if i == 1 {
			ev = strings.Replace(ev, `"actor":"bob"`, `"actor":"mallory"`, 1)
		}
		seq := int64(i + 1)
		h := audit.Hash(seq, prev, []byte(ev))
		id, err = c.XAdd(ctx(t), &redis.XAddArgs{Stream: stream, ID: m.ID, Values: map[string]any{
			"seq": strconv.FormatInt(seq, 10), "prev": prev, "hash": h, "event": ev}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		prev = h
	}
	if err := c.HSet(ctx(t), prefix+"audit:head", "seq", len(msgs), "hash", prev, "id", id).Err(); err != nil {
		t.Fatal(err)
	}
}

// localStore is a local result store in a temp dir; its checkpoints are files under
// the returned directory.
func localStore(t *testing.T) (wes.ResultStore, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := localfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, filepath.Join(dir, "objects", audit.CheckpointPrefix)
}

func checkpoint(t *testing.T, cp *audit.Checkpointer) (audit.SignedCheckpoint, bool) {
	t.Helper()
	sc, wrote, err := cp.Checkpoint(ctx(t))
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	return sc, wrote
}

// A checkpoint lands in MinIO under the reserved prefix, signed with the configured
// key; an unmoved head writes none, a moved one a new object beside the first.
func TestCheckpointWrittenToMinIO(t *testing.T) {
	st, err := s3.New(ctx(t), egresstest.S3Config(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l, _, p := newLog(t)
	key := newKey(t)
	cp := l.NewCheckpointer(audit.CheckpointerConfig{Key: key, Store: st})
	if _, wrote := checkpoint(t, cp); wrote {
		t.Fatal("an empty trail got a checkpoint")
	}
	record(t, l, 5)
	sc, wrote := checkpoint(t, cp)
	if !wrote || sc.Seq != 5 || sc.Chain != p+"audit:stream" || sc.Hash != mustVerify(t, l).Head {
		t.Fatalf("first checkpoint: wrote %v, %+v; want seq 5 and the head %s", wrote, sc, mustVerify(t, l).Head)
	}
	if !strings.HasPrefix(sc.Key(), audit.CheckpointPrefix) {
		t.Errorf("key %s is not under %s", sc.Key(), audit.CheckpointPrefix)
	}
	rc, _, err := st.Get(ctx(t), sc.Key())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	stored, err := audit.ParseCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := stored.Check(pub(key)); err != nil || stored != sc {
		t.Errorf("stored checkpoint %+v (check: %v), want %+v signed", stored, err, sc)
	}
	if err := stored.Check(pub(newKey(t))); err == nil {
		t.Error("the checkpoint verified with another public key")
	}
	if _, wrote := checkpoint(t, cp); wrote {
		t.Error("an unmoved head got a second checkpoint")
	}
	record(t, l, 1)
	sc2, wrote := checkpoint(t, cp)
	if !wrote || sc2.Seq != 6 || sc2.Key() == sc.Key() {
		t.Fatalf("second checkpoint: wrote %v, %+v", wrote, sc2)
	}
	if _, _, err := st.Get(ctx(t), sc.Key()); err != nil {
		t.Errorf("the first checkpoint is gone after the second: %v", err)
	}
	// What GET /audit/checkpoints serves: both, in seq order, as stored.
	var b2 strings.Builder
	if err := l.ExportCheckpoints(ctx(t), st, &b2); err != nil {
		t.Fatal(err)
	}
	listed, err := audit.ReadCheckpoints(strings.NewReader(b2.String()))
	if err != nil || len(listed) != 2 || listed[0].SignedCheckpoint != sc || listed[1].SignedCheckpoint != sc2 || listed[1].Name != sc2.Key() {
		t.Errorf("ExportCheckpoints listed %+v (%v), want the two written", listed, err)
	}
}

// The attack: the whole stream rewritten with recomputed hashes passes the chain checks
// but not the checkpoints made before it; the checkpointer refuses to sign the new head.
func TestCheckpointsDetectWholeRewrite(t *testing.T) {
	l, c, p := newLog(t)
	st, dir := localStore(t)
	key := newKey(t)
	cp := l.NewCheckpointer(audit.CheckpointerConfig{Key: key, Store: st})
	record(t, l, 4)
	checkpoint(t, cp)
	record(t, l, 4)
	checkpoint(t, cp)
	cps, err := audit.LoadCheckpoints(dir)
	if err != nil || len(cps) != 2 {
		t.Fatalf("LoadCheckpoints: %d, %v; want 2", len(cps), err)
	}
	anchored := func() audit.Report {
		t.Helper()
		r, err := audit.VerifyJSONLinesAnchored(strings.NewReader(export(t, l)), cps, pub(key))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := anchored(); !r.OK || r.Checkpoints.Anchored != 2 || r.Checkpoints.Newest.Seq != 8 {
		t.Fatalf("intact trail: %+v %+v, want OK with 2 anchored, newest seq 8", r, r.Checkpoints)
	}

	rewriteWhole(t, c, p)
	if r := mustVerify(t, l); !r.OK {
		t.Fatalf("the rewrite is not consistent, so it does not test checkpoints: %+v", r)
	}
	if r, _ := audit.VerifyJSONLines(strings.NewReader(export(t, l))); !r.OK {
		t.Fatalf("the export of the rewrite fails the plain check already: %+v", r)
	}
	r := anchored()
	if r.OK || !hasProblem(r, audit.ProblemCheckpoint, 4) || !hasProblem(r, audit.ProblemCheckpoint, 8) {
		t.Errorf("rewritten trail against its checkpoints: %+v, want checkpoint_mismatch at seq 4 and 8", r)
	}
	record(t, l, 1)
	if _, _, err := cp.Checkpoint(ctx(t)); !errors.Is(err, audit.ErrNotExtended) {
		t.Errorf("Checkpoint after the rewrite: %v, want ErrNotExtended", err)
	}
}

func TestCheckpointsDetectCutAndForgery(t *testing.T) {
	l, c, p := newLog(t)
	st, dir := localStore(t)
	key := newKey(t)
	cp := l.NewCheckpointer(audit.CheckpointerConfig{Key: key, Store: st})
	record(t, l, 5)
	sc, _ := checkpoint(t, cp)
	good := export(t, l)
	cps, err := audit.LoadCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(text string, cps []audit.NamedCheckpoint) audit.Report {
		t.Helper()
		r, err := audit.VerifyJSONLinesAnchored(strings.NewReader(text), cps, pub(key))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// The tail cut back behind the checkpoint, head and all: consistent, but short.
	lines := strings.SplitAfter(good, "\n")
	if r := verify(strings.Join(lines[:3], ""), cps); r.OK || !hasProblem(r, audit.ProblemMissing, 5) {
		t.Errorf("cut export: %+v, want checkpoint_missing at seq 5", r)
	}
	// A partial export that starts after a checkpoint: the checkpoint is older, not failed.
	old := append(cps[:0:0], cps...)
	old[0].Seq, old[0].Hash = 1, "x"
	old[0].SignedCheckpoint = audit.SignCheckpoint(old[0].Checkpoint, key)
	tail := strings.Join(lines[2:], "")
	if r := verify(tail, append(old, cps...)); r.Checkpoints.Older != 1 || r.Checkpoints.Anchored != 1 || hasProblem(r, audit.ProblemCheckpoint, -1) {
		t.Errorf("partial export: %+v %+v, want 1 older and 1 anchored, no mismatch", r, r.Checkpoints)
	}

	// The attacker rewrites the chain and signs matching checkpoints with a key of their own.
	rewriteWhole(t, c, p)
	forged := export(t, l)
	head := mustVerify(t, l).Head
	mallory := newKey(t)
	fake := audit.SignCheckpoint(audit.Checkpoint{Chain: sc.Chain, Seq: 5, ID: sc.ID, Hash: head, Time: sc.Time}, mallory)
	if r := verify(forged, []audit.NamedCheckpoint{{Name: "fake.json", SignedCheckpoint: fake}}); r.OK || !hasProblem(r, audit.ProblemSignature, 5) {
		t.Errorf("checkpoint signed with another key: %+v, want bad_checkpoint", r)
	}
	// ... or alters the real one to name the new hash (its key id still ours).
	altered := cps[0]
	altered.Hash = head
	if r := verify(forged, []audit.NamedCheckpoint{altered}); r.OK || !hasProblem(r, audit.ProblemSignature, 5) {
		t.Errorf("altered checkpoint: %+v, want bad_checkpoint", r)
	}
	// With the real checkpoint beside the fake one, the rewrite still shows.
	if r := verify(forged, []audit.NamedCheckpoint{cps[0], {Name: "fake.json", SignedCheckpoint: fake}}); r.OK || !hasProblem(r, audit.ProblemCheckpoint, 5) {
		t.Errorf("rewrite with a real and a fake checkpoint: %+v, want checkpoint_mismatch", r)
	}
}

// Checkpoint keys sit apart from every run's outputs, whatever the owner is called, and
// deleting a run's outputs (DELETE, retention) leaves them alone.
func TestCheckpointPrefixIsReserved(t *testing.T) {
	for _, owner := range []string{"audit-checkpoints", "_audit", "_audit/checkpoints", "", "../_audit"} {
		if k := egress.KeyPrefix(owner, "run-1"); strings.HasPrefix(k, "_") || strings.HasPrefix(k, audit.CheckpointPrefix) {
			t.Errorf("owner %q gets output prefix %s, which may collide with %s", owner, k, audit.CheckpointPrefix)
		}
	}
	l, _, _ := newLog(t)
	st, dir := localStore(t)
	record(t, l, 1)
	checkpoint(t, l.NewCheckpointer(audit.CheckpointerConfig{Key: newKey(t), Store: st}))
	if err := st.DeletePrefix(ctx(t), egress.KeyPrefix("audit-checkpoints", "run-1")); err != nil {
		t.Fatal(err)
	}
	if cps, err := audit.LoadCheckpoints(dir); err != nil || len(cps) != 1 {
		t.Errorf("after deleting a run's outputs: %d checkpoints, %v", len(cps), err)
	}
}

func writeKey(t *testing.T, dir, name string, der []byte, typ string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}

func TestLoadSigningKey(t *testing.T) {
	dir := t.TempDir()
	k := newKey(t)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pubDER, _ := x509.MarshalPKIXPublicKey(k.Public())
	ok := writeKey(t, dir, "ok.pem", der, "PRIVATE KEY", 0o600)
	if got, err := audit.LoadSigningKey(ok); err != nil || !got.Equal(k) {
		t.Fatalf("LoadSigningKey(0600): %v", err)
	}
	for _, tt := range []struct {
		name, path, want string
	}{
		{"world-readable", writeKey(t, dir, "644.pem", der, "PRIVATE KEY", 0o644), "chmod 600"},
		{"group-readable", writeKey(t, dir, "640.pem", der, "PRIVATE KEY", 0o640), "mode 0640"},
		{"public key", writeKey(t, dir, "pub.pem", pubDER, "PUBLIC KEY", 0o600), "openssl genpkey -algorithm ed25519"},
		{"garbage", writeKey(t, dir, "bad.pem", []byte("nope"), "PRIVATE KEY", 0o600), "PKCS#8"},
		{"missing", filepath.Join(dir, "none.pem"), "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := audit.LoadSigningKey(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadSigningKey = %v, want an error saying %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "BEGIN") {
				t.Errorf("the error shows the key file's content: %v", err)
			}
		})
	}
	if _, err := audit.ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})); err != nil {
		t.Errorf("ParsePublicKey: %v", err)
	}
	if _, err := audit.ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err == nil {
		t.Error("ParsePublicKey took a private key")
	}
}

// The keys openssl writes are the keys Enclave reads.
func TestOpenSSLKeys(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("SKIP: no openssl on PATH")
	}
	dir := t.TempDir()
	priv, pubf := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub.pem")
	for _, args := range [][]string{{"genpkey", "-algorithm", "ed25519", "-out", priv}, {"pkey", "-in", priv, "-pubout", "-out", pubf}} {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	if err := os.Chmod(priv, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := audit.LoadSigningKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(pubf)
	p, err := audit.ParsePublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	sc := audit.SignCheckpoint(audit.Checkpoint{Chain: "c", Seq: 1, ID: "1-1", Hash: audit.Genesis, Time: "2026-01-02T03:04:05Z"}, k)
	if err := sc.Check([]ed25519.PublicKey{p}); err != nil {
		t.Errorf("a checkpoint signed with openssl's key does not verify with its public key: %v", err)
	}
}
