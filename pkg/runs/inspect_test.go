package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/wes"
)

// A reviewer downloads an output held for review to decide on it, audited as
// output.inspect; its owner still cannot, and a file that changed since it was held is
// not handed out complete.
func TestReviewerInspectsPendingOutput(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7()).String()
	work := wes.LayoutFor(e.dataDir, id).WorkDir()
	body := "site,count\nA,12\n"
	if err := os.MkdirAll(filepath.Join(work, "results"), 0o750); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(work, "results", "t.csv")
	if err := os.WriteFile(file, []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	run := &wes.Run{ID: id, Owner: "alice", State: wes.StateComplete, WorkDir: work, Workflow: "wf",
		Released: []wes.Output{{Path: "results/t.csv", Status: wes.OutputPending, Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}}}
	if err := e.store.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	alice := &wes.Principal{Subject: "alice", Roles: []string{wes.RoleResearcher}}
	if _, err := e.s.Download(ctx, alice, id, "results/t.csv"); !wes.IsCode(err, wes.ECONFLICT) {
		t.Fatalf("the owner downloading a pending output: %v, want ECONFLICT", err)
	}
	dora := &wes.Principal{Subject: "dora", Roles: []string{wes.RoleDataController}}
	d, err := e.s.Download(ctx, dora, id, "results/t.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.LimitReader(d.Body, d.Size))
	d.Body.Close()
	if err != nil || string(got) != body {
		t.Fatalf("reviewer read %q, %v", got, err)
	}
	page, err := e.trail.Query(ctx, wes.AuditFilter{Action: "output.inspect"})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Event.Actor != "dora" || page.Entries[0].Event.Detail["path"] != "results/t.csv" {
		t.Fatalf("audit of the inspection: %+v %v", page.Entries, err)
	}

	// Changed after it was held (same size): refused.
	if err := os.WriteFile(file, []byte("site,count\nA,13\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Download(ctx, dora, id, "results/t.csv"); !wes.IsCode(err, wes.ECONFLICT) {
		t.Fatalf("a changed pending output: %v, want ECONFLICT", err)
	}
	// A link in its place: refused, never followed.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", file); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Download(ctx, dora, id, "results/t.csv"); !wes.IsCode(err, wes.ECONFLICT) {
		t.Fatalf("a link in place of a pending output: %v, want ECONFLICT", err)
	}
}

// The bytes of a file that changes between its check and its transfer never arrive whole.
func TestVerifyingHoldsBackChangedBytes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("changed!"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("original"))
	v := &verifying{f: f, h: sha256.New(), want: hex.EncodeToString(sum[:]), size: 8}
	got, err := io.ReadAll(v)
	v.Close()
	if err == nil || len(got) == 8 {
		t.Fatalf("read %q, %v: want an error and fewer than 8 bytes", got, err)
	}
}

// With authentication off the anonymous user is everyone, reviewer included: the demo can
// inspect (and review) its own held outputs, as nobody else could.
func TestAnonymousInspectsOwnPendingOutput(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7()).String()
	work := wes.LayoutFor(e.dataDir, id).WorkDir()
	body := "site,count\nA,12\n"
	if err := os.MkdirAll(filepath.Join(work, "results"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "results", "t.csv"), []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	run := &wes.Run{ID: id, Owner: wes.Anonymous.Subject, State: wes.StateComplete, WorkDir: work, Workflow: "wf",
		Released: []wes.Output{{Path: "results/t.csv", Status: wes.OutputPending, Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}}}
	if err := e.store.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	d, err := e.s.Download(ctx, wes.Anonymous, id, "results/t.csv")
	if err != nil {
		t.Fatalf("the anonymous user inspecting its own held output: %v", err)
	}
	d.Body.Close()
}
