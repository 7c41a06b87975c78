package runs

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Deleting a run erases what its owner wrote into it (params, tags, engine parameters)
// and the command line built from them: what is read back is a tombstone that says the
// run was deleted.
func TestDeleteLeavesATombstone(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7()).String()
	work := wes.LayoutFor(e.dataDir, id).WorkDir()
	if err := os.MkdirAll(work, 0o750); err != nil {
		t.Fatal(err)
	}
	run := &wes.Run{ID: id, Owner: "alice", State: wes.StateComplete, WorkDir: work, Workflow: "wf",
		Request: wes.RunRequest{WorkflowParams: json.RawMessage(`{"patient":"p001"}`), Tags: map[string]string{"note": "p001's follow-up"},
			WorkflowEngineParameters: map[string]string{"cores": "2"}},
		Log: wes.RunLog{Cmd: []string{"snakemake", "--config", "patient=p001"}}}
	if err := e.store.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	alice := &wes.Principal{Subject: "alice", Roles: []string{wes.RoleResearcher}}
	if _, err := e.s.Delete(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	v, err := e.s.Get(ctx, alice, id)
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
