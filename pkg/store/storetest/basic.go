package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

func testCreateGet(t *testing.T, s wes.RunStore) {
	id := newIDs(t, 1)[0]
	in := newRun(id, "alice", wes.StateQueued)
	in.Request.WorkflowParams = []byte(`{"n":3}`)
	in.WorkDir = "/zone/runs/" + id + "/work"
	mustCreate(t, s, in)

	got := mustGet(t, s, id)
	if got.ID != id || got.Owner != "alice" || got.State != wes.StateQueued {
		t.Errorf("Get = id %q owner %q state %s, want %q alice QUEUED", got.ID, got.Owner, got.State, id)
	}
	if !reflect.DeepEqual(got.Request, in.Request) {
		t.Errorf("Request = %+v, want %+v", got.Request, in.Request)
	}
	if got.Engine != in.Engine || got.EngineVer != in.EngineVer || got.Executor != in.Executor || got.WorkDir != in.WorkDir {
		t.Errorf("Get = %+v, want the fields of %+v", got, in)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		t.Errorf("CreatedAt %v UpdatedAt %v: both must be set by Create", got.CreatedAt, got.UpdatedAt)
	}
}

func testGetNotFound(t *testing.T, s wes.RunStore) {
	_, err := s.Get(ctx(t), newIDs(t, 1)[0])
	wantCode(t, "Get of a missing run", err, wes.ENOTFOUND)
}

func testCreateDuplicate(t *testing.T, s wes.RunStore) {
	id := newIDs(t, 1)[0]
	mustCreate(t, s, newRun(id, "alice", wes.StateQueued))
	err := s.Create(ctx(t), newRun(id, "bob", wes.StateRunning))
	wantCode(t, "second Create with the same id", err, wes.ECONFLICT)
	got := mustGet(t, s, id)
	if got.Owner != "alice" || got.State != wes.StateQueued {
		t.Errorf("after duplicate Create: owner %q state %s, want the first run (alice, QUEUED)", got.Owner, got.State)
	}
	checkCounts(t, s, "", map[wes.State]int64{wes.StateQueued: 1})
	checkCounts(t, s, "bob", nil)
}

func testGetReturnsCopy(t *testing.T, s wes.RunStore) {
	id := newIDs(t, 1)[0]
	mustCreate(t, s, newRun(id, "alice", wes.StateQueued))
	r := mustGet(t, s, id)
	r.State = wes.StateComplete
	r.Request.Tags["project"] = "changed"
	if got := mustGet(t, s, id); got.State != wes.StateQueued || got.Request.Tags["project"] != "conformance" {
		t.Errorf("changing a run returned by Get changed the store: %+v", got)
	}
}

func testUpdateStoresChanges(t *testing.T, s wes.RunStore) {
	id := newIDs(t, 1)[0]
	mustCreate(t, s, newRun(id, "alice", wes.StateQueued))
	before := mustGet(t, s, id)
	start := time.Now().Add(-time.Second)
	exit := 0
	got, err := s.Update(ctx(t), id, func(r *wes.Run) error {
		r.State = wes.StateRunning
		r.Handle = &wes.Handle{Executor: "local", Version: 1, Data: []byte(`{"pid":42}`)}
		r.StartTime = start
		r.Log.ExitCode = &exit
		r.AddSystemLog("started")
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got.State != wes.StateRunning || got.Version <= before.Version {
		t.Errorf("Update returned state %s version %d, want RUNNING and a version above %d", got.State, got.Version, before.Version)
	}
	if got.UpdatedAt.Before(before.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v < %v", got.UpdatedAt, before.UpdatedAt)
	}
	stored := mustGet(t, s, id)
	if stored.Version != got.Version || stored.State != wes.StateRunning {
		t.Errorf("stored version %d state %s, want what Update returned (%d, RUNNING)", stored.Version, stored.State, got.Version)
	}
	if stored.Handle == nil || string(stored.Handle.Data) != `{"pid":42}` || !stored.StartTime.Equal(start) ||
		stored.Log.ExitCode == nil || *stored.Log.ExitCode != 0 || len(stored.Log.SystemLogs) != 1 {
		t.Errorf("stored run lost fields set by Update: %+v", stored)
	}
	// An update that changes nothing still stores a new version.
	again, err := s.Update(ctx(t), id, func(*wes.Run) error { return nil })
	if err != nil {
		t.Fatalf("no-op Update: %v", err)
	}
	if again.Version <= got.Version {
		t.Errorf("no-op Update: version %d, want a version above %d", again.Version, got.Version)
	}
}

func testUpdateNotFound(t *testing.T, s wes.RunStore) {
	called := false
	_, err := s.Update(ctx(t), newIDs(t, 1)[0], func(*wes.Run) error { called = true; return nil })
	wantCode(t, "Update of a missing run", err, wes.ENOTFOUND)
	if called {
		t.Error("Update called fn for a missing run")
	}
}

func testUpdateCallbackError(t *testing.T, s wes.RunStore) {
	id := newIDs(t, 1)[0]
	mustCreate(t, s, newRun(id, "alice", wes.StateQueued))
	before := mustGet(t, s, id)
	sentinel := errors.New("step refused")
	_, err := s.Update(ctx(t), id, func(r *wes.Run) error {
		r.State = wes.StateRunning
		r.Attempts = 99
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Errorf("Update returned %v, want fn's error", err)
	}
	after := mustGet(t, s, id)
	if after.Version != before.Version || after.State != wes.StateQueued || after.Attempts != 0 {
		t.Errorf("a failed fn stored changes: %+v", after)
	}
	checkCounts(t, s, "", map[wes.State]int64{wes.StateQueued: 1})
}
