package runs

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Every read of a run's engine log is an audit event (a follower's reads, a few a minute).
func TestLogReadsAreAudited(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7()).String()
	layout := wes.LayoutFor(e.dataDir, id)
	if err := os.MkdirAll(layout.LogDir(), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(layout.StderrPath(), []byte("step 1 done\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Create(ctx, &wes.Run{ID: id, Owner: "alice", State: wes.StateComplete, WorkDir: layout.WorkDir()}); err != nil {
		t.Fatal(err)
	}
	alice := &wes.Principal{Subject: "alice", Roles: []string{wes.RoleResearcher}}
	for _, off := range []int64{0, 5} {
		body, _, err := e.s.LogSection(ctx, alice, id, Stderr, off)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, body)
		body.Close()
	}
	page, err := e.trail.Query(ctx, wes.AuditFilter{Action: "run.log.read"})
	if err != nil || len(page.Entries) != 2 {
		t.Fatalf("log read events: %+v %v, want 2", page.Entries, err)
	}
	if ev := page.Entries[1].Event; ev.Actor != "alice" || ev.RunID != id || ev.Detail["stream"] != "stderr" || ev.Detail["offset"] != "5" {
		t.Errorf("event %+v", ev)
	}
}
