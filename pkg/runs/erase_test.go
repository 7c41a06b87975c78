package runs

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/engines"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Deleting a run erases what its owner wrote into it (params, tags, engine parameters)
// and the command line built from them: what is read back is a tombstone that says the
// run was deleted.
func TestDeleteLeavesATombstone(t *testing.T) {
	c := testutil.Redis(t)
	prefix := testutil.UniqueName("enclave-runs-test-") + ":"
	t.Cleanup(func() {
		if keys, err := c.Keys(context.Background(), prefix+"*").Result(); err == nil && len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	store := redisstore.New(c, redisstore.Options{Prefix: prefix})
	dataDir := t.TempDir()
	s, err := New(Config{DataDir: dataDir}, Deps{Store: store, Dispatcher: struct{ wes.Dispatcher }{}, Engines: engines.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7()).String()
	work := wes.LayoutFor(dataDir, id).WorkDir()
	if err := os.MkdirAll(work, 0o750); err != nil {
		t.Fatal(err)
	}
	run := &wes.Run{ID: id, Owner: "alice", State: wes.StateComplete, WorkDir: work, Workflow: "wf",
		Request: wes.RunRequest{WorkflowParams: json.RawMessage(`{"patient":"p001"}`), Tags: map[string]string{"note": "p001's follow-up"},
			WorkflowEngineParameters: map[string]string{"cores": "2"}},
		Log: wes.RunLog{Cmd: []string{"snakemake", "--config", "patient=p001"}}}
	if err := store.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	alice := &wes.Principal{Subject: "alice", Roles: []string{wes.RoleResearcher}}
	if _, err := s.Delete(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	v, err := s.Get(ctx, alice, id)
	if err != nil {
		t.Fatal(err)
	}
	r := v.Run
	if string(r.Request.WorkflowParams) != "{}" || r.Request.Tags != nil || r.Request.WorkflowEngineParameters != nil || r.Log.Cmd != nil || v.Cmd != nil {
		t.Errorf("after delete the record still holds what the owner wrote: %+v", r.Request)
	}
	if r.Owner != "alice" || r.Workflow != "wf" || r.State != wes.StateComplete {
		t.Errorf("the tombstone lost the run's identity: %+v", r)
	}
	said := false
	for _, m := range v.SystemLogs {
		said = said || m == "the run's files and outputs were deleted by its owner"
	}
	if !said {
		t.Errorf("system logs %q do not say the run was deleted", v.SystemLogs)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("work dir still there: %v", err)
	}
}
