package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// No error message names the data dir or a dataset's path, whatever produced it.
func TestErrorMessagesHideZonePaths(t *testing.T) {
	holder, err := catalog.NewHolder("../../examples/catalog/catalog.yaml", catalog.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dataset := holder.Catalog().DatasetPaths()["cohort-demo"]
	// The data dir is configured through a symlink; tools print the resolved path.
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "data")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	real, _ = filepath.EvalSymlinks(real)
	svc, err := runs.New(runs.Config{DataDir: link}, runs.Deps{Store: struct{ wes.RunStore }{}, Dispatcher: &recordingDispatcher{},
		Engines: engines.NewRegistry(), Catalog: holder})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{runs: svc, log: slog.New(slog.DiscardHandler)}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest("GET", "/x", nil)
	s.abortWithError(c, wes.Errorf(wes.EINVALID, "cannot read %s/runs/r1, %s/runs/r2 nor %s", link, real, dataset))
	var e api.ErrorResponse
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatal(err)
	}
	if e.Msg != "cannot read <data>/runs/r1, <data>/runs/r2 nor <dataset>" {
		t.Errorf("error = %q", e.Msg)
	}
}

// A run whose dataset has left the catalogue: its path is unknown and cannot be
// rewritten, so its owner no longer reads the engine output (administrators still do).
func TestLostDatasetHidesEngineOutput(t *testing.T) {
	h := newSealedHarness(t)
	r := h.createRun("alice", func(r *wes.Run) {
		r.Workflow, r.Datasets = "cohort-count-cwl", []string{"cohort-demo", "cohort-gone"} // logs: owner
		r.Log.Cmd = []string{"cwltool", "x.cwl"}
	})
	kept := h.createRun("alice", func(r *wes.Run) { r.Workflow, r.Datasets = "cohort-count-cwl", []string{"cohort-demo"} })
	path := BasePath + "/runs/" + r.ID + "/logs/stderr"
	st, b, _ := h.do(http.MethodGet, path, "alice", "", nil)
	if e := errorBody(t, st, b); st != http.StatusForbidden || !strings.Contains(e.Msg, "dataset cohort-gone has left the catalogue") {
		t.Errorf("owner reads the log of a run whose dataset is gone: %d %s", st, b)
	}
	var rl api.RunLog
	if st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID, "alice", "", nil); st != 200 || json.Unmarshal(b, &rl) != nil ||
		rl.RunLog.Stderr != "" || rl.RunLog.Cmd != nil {
		t.Errorf("run log: %d %s", st, b)
	}
	if st, b, _ := h.do(http.MethodGet, path, "admin", "", nil); st != http.StatusOK {
		t.Errorf("admin: %d %s", st, b)
	}
	if st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+kept.ID+"/logs/stderr", "alice", "", nil); st != http.StatusOK {
		t.Errorf("owner of a run whose datasets are all there: %d %s", st, b)
	}
}
