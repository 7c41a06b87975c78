package runner_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/localfs"
	"github.com/spe4hd/enclave/pkg/runner"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// retentionEnv is a runner with a retention period over a real Redis store, a real
// audit log on that Redis and a real local result store. now is the runner's clock.
type retentionEnv struct {
	t       *testing.T
	dataDir string
	store   *redisstore.Store
	audit   *audit.Log
	results *localfs.Store
	now     time.Time
}

func newRetentionEnv(t *testing.T) *retentionEnv {
	t.Helper()
	rdb := testutil.Redis(t)
	prefix := testutil.UniqueName("enclave-retention-") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, err := rdb.Keys(ctx, prefix+"*").Result(); err == nil && len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	rs, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	return &retentionEnv{t: t, dataDir: t.TempDir(), results: rs,
		store: redisstore.New(rdb, redisstore.Options{Prefix: prefix}),
		audit: audit.New(rdb, audit.Options{Prefix: prefix}),
		now:   time.Now().UTC().Truncate(time.Second)}
}

// runner returns a runner of env with retention d; batch 0 is the default.
func (e *retentionEnv) runner(d time.Duration, batch int, aud wes.Auditor) *runner.Runner {
	e.t.Helper()
	r, err := runner.New(runner.Config{DataDir: e.dataDir, Results: e.results, Audit: aud,
		Retention: d, RetentionBatch: batch, Now: func() time.Time { return e.now }},
		e.store, &recDispatcher{}, nil, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// kind of run a test stores.
type runSpec struct {
	state    wes.State
	endedAgo time.Duration // 0: no EndTime
	record   bool          // the record points at a work dir, outputs and a released object
	files    bool          // the run has files on disk
}

// add stores a run as spec says, with its files and released object, and returns its id.
func (e *retentionEnv) add(owner string, s runSpec) string {
	e.t.Helper()
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7()).String()
	run := &wes.Run{ID: id, Owner: owner, State: s.state, CreatedAt: e.now.Add(-100 * time.Hour)}
	if s.endedAgo > 0 {
		run.EndTime = e.now.Add(-s.endedAgo)
	}
	l := wes.LayoutFor(e.dataDir, id)
	if s.record {
		key := egress.KeyPrefix(owner, id) + "result.txt"
		if _, err := e.results.Put(ctx, key, strings.NewReader("42\n"), 3, "text/plain"); err != nil {
			e.t.Fatal(err)
		}
		run.WorkDir = l.WorkDir()
		run.Outputs = map[string]any{"result": "result.txt"}
		run.Released = []wes.Output{{Path: "result.txt", Key: key, Status: wes.OutputReleased}}
	}
	if s.files {
		for _, f := range []string{filepath.Join(l.WorkDir(), "result.txt"), l.StdoutPath()} {
			if err := os.MkdirAll(filepath.Dir(f), 0o750); err != nil {
				e.t.Fatal(err)
			}
			if err := os.WriteFile(f, []byte("42\n"), 0o640); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	if err := e.store.Create(ctx, run); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *retentionEnv) get(id string) *wes.Run {
	e.t.Helper()
	r, err := e.store.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *retentionEnv) hasFiles(id string) bool {
	_, err := os.Lstat(wes.LayoutFor(e.dataDir, id).Root)
	return err == nil
}

func (e *retentionEnv) hasObject(owner, id string) bool {
	_, _, err := e.results.Get(context.Background(), egress.KeyPrefix(owner, id)+"result.txt")
	if err != nil && !wes.IsCode(err, wes.ENOTFOUND) {
		e.t.Fatal(err)
	}
	return err == nil
}

// deletes returns the run.delete events of run id.
func (e *retentionEnv) deletes(id string) []wes.AuditEvent {
	e.t.Helper()
	page, err := e.audit.Query(context.Background(), audit.Filter{RunID: id, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []wes.AuditEvent
	for _, en := range page.Entries {
		if en.Event.Action == "run.delete" {
			out = append(out, en.Event)
		}
	}
	return out
}

func (e *retentionEnv) sweep(r *runner.Runner, want int) {
	e.t.Helper()
	n, err := r.SweepRetention(context.Background())
	if err != nil || n != want {
		e.t.Fatalf("SweepRetention = %d, %v; want %d, nil", n, err, want)
	}
}

func TestRetentionDeletesOnlyExpiredFinishedRuns(t *testing.T) {
	e := newRetentionEnv(t)
	day := 24 * time.Hour
	expired := map[string]string{ // id → owner
		e.add("alice", runSpec{state: wes.StateComplete, endedAgo: 2 * day, record: true, files: true}):           "alice",
		e.add("bob", runSpec{state: wes.StateExecutorError, endedAgo: 25 * time.Hour, record: true, files: true}): "bob",
	}
	// Cancelled while queued: the record points at nothing, but its attachments are there.
	queuedCancel := e.add("bob", runSpec{state: wes.StateCanceled, endedAgo: 3 * day, files: true})
	kept := map[string]string{
		e.add("alice", runSpec{state: wes.StateComplete, endedAgo: 23 * time.Hour, record: true, files: true}): "alice",
		e.add("alice", runSpec{state: wes.StateRunning, record: true, files: true}):                            "alice",
		e.add("bob", runSpec{state: wes.StateCanceling, record: true, files: true}):                            "bob",
	}
	deletedBefore := e.add("alice", runSpec{state: wes.StateComplete, endedAgo: 5 * day})
	before := map[string]*wes.Run{}
	for id := range kept {
		before[id] = e.get(id)
	}
	before[deletedBefore] = e.get(deletedBefore)
	before[queuedCancel] = e.get(queuedCancel)

	r := e.runner(day, 0, e.audit)
	e.sweep(r, 3)

	for id, owner := range expired {
		got := e.get(id)
		if e.hasFiles(id) || e.hasObject(owner, id) {
			t.Errorf("run %s: files or released object still there after its retention period", id)
		}
		if got.WorkDir != "" || got.Released != nil || got.Outputs != nil {
			t.Errorf("run %s: record still points at files: %+v", id, got)
		}
		if got.State == "" || got.EndTime.IsZero() || got.Owner != owner {
			t.Errorf("run %s: the record itself must stay, got %+v", id, got)
		}
		if !slices.Contains(got.Log.SystemLogs, "the run's files and outputs were deleted by the retention period") {
			t.Errorf("run %s: system logs %q lack the deletion message", id, got.Log.SystemLogs)
		}
	}
	for _, id := range append(slices.Collect(maps.Keys(expired)), queuedCancel) {
		evs := e.deletes(id)
		if len(evs) != 1 {
			t.Fatalf("run %s: %d run.delete events, want 1", id, len(evs))
		}
		if ev := evs[0]; ev.Actor != "system" || ev.Outcome != "ok" || ev.Reason != "retention period of 24h passed" {
			t.Errorf("run %s: event %+v, want actor system, outcome ok, reason about 24h", id, ev)
		}
	}
	if e.hasFiles(queuedCancel) {
		t.Error("the attachments of a run cancelled while queued are still there")
	}
	if got := e.get(queuedCancel); got.Version != before[queuedCancel].Version {
		t.Errorf("a record that pointed at nothing was changed: version %d → %d", before[queuedCancel].Version, got.Version)
	}
	for id, owner := range kept {
		if !e.hasFiles(id) || !e.hasObject(owner, id) {
			t.Errorf("run %s (%s): files removed, but it is not past its retention period", id, before[id].State)
		}
		if got := e.get(id); got.Version != before[id].Version || got.WorkDir == "" {
			t.Errorf("run %s (%s): record changed: %+v", id, before[id].State, got)
		}
		if evs := e.deletes(id); len(evs) != 0 {
			t.Errorf("run %s: %d run.delete events, want none", id, len(evs))
		}
	}
	if got := e.get(deletedBefore); got.Version != before[deletedBefore].Version || len(e.deletes(deletedBefore)) != 0 {
		t.Errorf("a run deleted before was touched again: %+v", got)
	}

	// A second pass, and a second worker's pass, find nothing left to do.
	e.sweep(r, 0)
	e.sweep(e.runner(day, 0, e.audit), 0)
	for id := range expired {
		if evs := e.deletes(id); len(evs) != 1 {
			t.Errorf("run %s: %d run.delete events after three passes, want 1", id, len(evs))
		}
	}

	// Time passes: the young run's turn comes.
	e.now = e.now.Add(2 * time.Hour)
	e.sweep(r, 1)
}

func TestRetentionBoundsEachPass(t *testing.T) {
	e := newRetentionEnv(t)
	var ids []string
	for range 5 {
		ids = append(ids, e.add("alice", runSpec{state: wes.StateComplete, endedAgo: 48 * time.Hour, record: true, files: true}))
	}
	r := e.runner(time.Hour, 2, e.audit)
	e.sweep(r, 2)
	e.sweep(r, 2)
	e.sweep(r, 1)
	e.sweep(r, 0)
	for _, id := range ids {
		if e.hasFiles(id) || len(e.deletes(id)) != 1 {
			t.Errorf("run %s: files there %v, %d run.delete events; want gone and 1", id, e.hasFiles(id), len(e.deletes(id)))
		}
	}
}

func TestRetentionOff(t *testing.T) {
	e := newRetentionEnv(t)
	id := e.add("alice", runSpec{state: wes.StateComplete, endedAgo: 1000 * time.Hour, record: true, files: true})
	r := e.runner(0, 0, e.audit)
	e.sweep(r, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.RunRetention(ctx) // returns at once when off
	if !e.hasFiles(id) {
		t.Error("retention 0 deleted a run's files")
	}
}

// downAuditor is an audit trail that cannot be written.
type downAuditor struct{}

func (downAuditor) Record(context.Context, wes.AuditEvent) error {
	return wes.Errorf(wes.EUNAVAILABLE, "audit trail down")
}

func TestRetentionDeletesNothingUnaudited(t *testing.T) {
	e := newRetentionEnv(t)
	id := e.add("alice", runSpec{state: wes.StateComplete, endedAgo: 48 * time.Hour, record: true, files: true})
	r := e.runner(time.Hour, 0, downAuditor{})
	n, err := r.SweepRetention(context.Background())
	if n != 0 || !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Fatalf("SweepRetention = %d, %v; want 0 and the audit error", n, err)
	}
	if !e.hasFiles(id) || !e.hasObject("alice", id) || e.get(id).WorkDir == "" {
		t.Error("files were deleted although the deletion could not be audited")
	}
}

func TestDeleteRunFilesRefuses(t *testing.T) {
	e := newRetentionEnv(t)
	id := e.add("alice", runSpec{state: wes.StateRunning, record: true, files: true})
	err := runner.DeleteRunFiles(context.Background(), e.store, e.results, e.dataDir, e.get(id), "a test")
	if !wes.IsCode(err, wes.ECONFLICT) || !e.hasFiles(id) {
		t.Errorf("DeleteRunFiles of a running run = %v, files there %v; want ECONFLICT and files kept", err, e.hasFiles(id))
	}
	keep := filepath.Join(e.dataDir, "runs", "other")
	if err := os.MkdirAll(keep, 0o750); err != nil {
		t.Fatal(err)
	}
	err = runner.DeleteRunFiles(context.Background(), e.store, e.results, e.dataDir, &wes.Run{Owner: "alice", State: wes.StateComplete}, "a test")
	if err == nil || errors.Is(err, os.ErrNotExist) {
		t.Errorf("DeleteRunFiles of a run without id = %v, want an error", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("DeleteRunFiles of a run without id removed other runs' files: %v", err)
	}
}
