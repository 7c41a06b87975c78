package runner_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

// TestSweepStrays: a run directory whose submission never reached the store (the server
// died between writing the attachments and storing the run) is removed by the worker once
// nothing in it changed for StrayAge, with an audit event. The directory of a stored run,
// one of a started run whose record is missing, a stray still being written, a fresh one
// and anything not named like a run id stay.
func TestSweepStrays(t *testing.T) {
	e := newEnv(t, withAudit())
	ctx := t.Context()
	stored := e.newRun(t, []string{"fake", "sleep=1m"})
	if err := e.r.Start(ctx, stored); err != nil {
		t.Fatal(err)
	}
	stray := func() string {
		id := uuid.Must(uuid.NewV7()).String()
		work := wes.LayoutFor(e.dataDir, id).WorkDir()
		if err := os.MkdirAll(work, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, "Snakefile"), []byte("rule all:\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		return id
	}
	old, uploading, started := stray(), stray(), stray()
	// A directory of a run that was started (it has logs) but whose record is missing:
	// not a stray of a submission, so never swept.
	if err := os.MkdirAll(wes.LayoutFor(e.dataDir, started).LogDir(), 0o750); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(e.dataDir, "runs", "not-a-run")
	if err := os.MkdirAll(other, 0o750); err != nil {
		t.Fatal(err)
	}

	if n, err := e.r.SweepStrays(ctx); err != nil || n != 0 {
		t.Fatalf("a sweep right away removed %d (%v); fresh strays may be submissions in progress", n, err)
	}
	e.clock.advance(runner.StrayAge + time.Hour)
	// The upload's file is still being written: its time is the (moved) present.
	now := e.clock.Now()
	if err := os.Chtimes(filepath.Join(wes.LayoutFor(e.dataDir, uploading).WorkDir(), "Snakefile"), now, now); err != nil {
		t.Fatal(err)
	}
	n, err := e.r.SweepStrays(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep removed %d (%v), want the one old stray", n, err)
	}
	for _, c := range []struct {
		path string
		kept bool
	}{
		{wes.LayoutFor(e.dataDir, old).Root, false},
		{wes.LayoutFor(e.dataDir, uploading).Root, true},
		{wes.LayoutFor(e.dataDir, started).Root, true},
		{wes.LayoutFor(e.dataDir, stored).WorkDir(), true},
		{other, true},
	} {
		_, err := os.Stat(c.path)
		if kept := err == nil; kept != c.kept {
			t.Errorf("%s: kept %v, want %v", c.path, kept, c.kept)
		}
	}
	page, err := e.audit.Query(ctx, audit.Filter{Action: "run.stray.remove"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 1 || page.Entries[0].Event.RunID != old || page.Entries[0].Event.Actor != "system" {
		t.Fatalf("audit of the sweep: %+v, want one event for the removed stray", page.Entries)
	}
}
