package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/localfs"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/wes"
)

// sealedHarness is the API in sealed mode on the example catalogue, a local-disk result
// store and the real audit trail. carol is a data controller; see testAuth for the rest.
type sealedHarness struct {
	*harness
	results *localfs.Store
	audit   *audit.Log
}

func newSealedHarness(t *testing.T, edit ...func(*testConfig, *testDeps)) *sealedHarness {
	t.Helper()
	holder, err := catalog.NewHolder("../../examples/catalog/catalog.yaml", catalog.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	al := audit.New(testutil.Redis(t), audit.Options{Prefix: testutil.UniqueName("enclave-httpapi-audit-") + ":"})
	sh := &sealedHarness{results: rs, audit: al}
	sh.harness = newHarness(t, append([]func(*testConfig, *testDeps){func(c *testConfig, d *testDeps) {
		c.Mode = ModeSealed
		d.Catalog, d.Results, d.Audit, d.AuditLog = holder, rs, al, al
		d.Engines = engines.NewRegistry(snakemake.New(snakemake.Config{Versions: []string{"7.21.0"}}, nil),
			cwl.New(cwl.Config{Versions: []string{"3.1.20230209161050"}}, nil), testEngine{"tester"})
		d.Authenticate = func(r *http.Request) (*wes.Principal, error) {
			if r.Header.Get("Authorization") == "Bearer carol" {
				return &wes.Principal{Subject: "carol", Roles: []string{wes.RoleDataController}}, nil
			}
			return testAuth(r)
		}
	}}, edit...)...)
	return sh
}

func TestConfigModes(t *testing.T) {
	base := func() (testConfig, testDeps) {
		return testConfig{DataDir: t.TempDir()}, testDeps{Store: struct{ wes.RunStore }{}, Dispatcher: &recordingDispatcher{},
			Engines: engines.NewRegistry(testEngine{"tester"})}
	}
	for _, tt := range []struct {
		name string
		edit func(*testConfig, *testDeps)
		want string
	}{
		{"unknown mode", func(c *testConfig, _ *testDeps) { c.Mode = "closed" }, "Mode"},
		{"sealed without catalogue", func(c *testConfig, _ *testDeps) { c.Mode = ModeSealed }, "Deps.Catalog"},
		{"sealed without results", func(c *testConfig, d *testDeps) { c.Mode = ModeSealed; d.Catalog = &catalog.Holder{} }, "Deps.Results"},
		{"negative TTL", func(c *testConfig, _ *testDeps) { c.OutputURLTTL = -1 }, "OutputURLTTL"},
	} {
		c, d := base()
		tt.edit(&c, &d)
		if _, err := newAPI(c, d); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
}

// In open mode the extension endpoints answer plainly: no catalogue, no audit trail,
// outputs as the engine listed them, and a finished run's files can be deleted.
func TestOpenModeExtensions(t *testing.T) {
	h := newHarness(t)
	for path, want := range map[string]int{"/catalog/workflows": 404, "/catalog/datasets": 404, "/audit/export": 404} {
		if st, b, _ := h.do(http.MethodGet, BasePath+path, "admin", "", nil); st != want {
			t.Errorf("GET %s: %d %s", path, st, b)
		}
	}
	if st, _, _ := h.do(http.MethodGet, BasePath+"/audit", "alice", "", nil); st != http.StatusForbidden {
		t.Errorf("audit as a researcher: %d", st)
	}
	running := h.createRun("alice", nil)
	h.setState(running.ID, wes.StateRunning)
	if st, b, _ := h.do(http.MethodDelete, BasePath+"/runs/"+running.ID, "alice", "", nil); st != http.StatusConflict {
		t.Errorf("delete a running run: %d %s", st, b)
	}
	id := h.submit("alice", validRun(field("tags", `{"path": "/anything/goes/here"}`))...)
	h.setState(id, wes.StateRunning, wes.StateComplete)
	var rl api.RunLog
	if st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+id, "admin", "", nil); st != 200 || json.Unmarshal(b, &rl) != nil || rl.Request.Tags["path"] == "" {
		t.Errorf("open mode shows tags to admins: %d %s", st, b)
	}
	if st, b, _ := h.do(http.MethodDelete, BasePath+"/runs/"+id, "admin", "", nil); st != http.StatusOK {
		t.Fatalf("delete: %d %s", st, b)
	}
	if _, err := os.Stat(wes.LayoutFor(h.dataDir, id).Root); !os.IsNotExist(err) {
		t.Errorf("run dir still there: %v", err)
	}
	if st, _, _ := h.do(http.MethodDelete, BasePath+"/runs/"+id, "alice", "", nil); st != http.StatusOK {
		t.Errorf("deleting again: %d", st)
	}
}

func TestSealedSubmitAndServiceInfo(t *testing.T) {
	h := newSealedHarness(t)
	var si api.ServiceInfo
	if st, b, _ := h.do(http.MethodGet, BasePath+"/service-info", "", "", nil); st != 200 || json.Unmarshal(b, &si) != nil {
		t.Fatalf("service-info: %d %s", st, b)
	}
	if len(si.WorkflowTypeVersions) != 2 || si.WorkflowTypeVersions["TST"].WorkflowTypeVersion != nil ||
		len(si.DefaultWorkflowEngineParameters) != 0 || si.Tags["mode"] != ModeSealed {
		t.Errorf("anonymous sealed service-info: %+v", si)
	}
	_, b, _ := h.do(http.MethodGet, BasePath+"/service-info", "alice", "", nil)
	if !strings.Contains(string(b), `{"default_value":"1","name":"cores","type":"int"}`) || strings.Contains(string(b), "restart-times") {
		t.Errorf("alice's engine parameters: %s", b)
	}

	id := h.submit("alice", field("workflow_url", "cohort-count-smk"), field("workflow_params", `{"cohort": "cohort-demo"}`),
		field("workflow_engine_parameters", `{"latency-wait": "9"}`), field("tags", `{"study": "s1"}`))
	r, err := h.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Workflow != "cohort-count-smk" || r.Datasets[0] != "cohort-demo" || r.Engine != "snakemake" || r.EngineVer != "7.21.0" ||
		r.Request.WorkflowType != "SMK" || r.Request.WorkflowEngineParameters["cores"] != "1" || r.Request.WorkflowEngineParameters["latency-wait"] != "9" {
		t.Errorf("stored run %+v", r)
	}
	var rl api.RunLog
	_, b, _ = h.do(http.MethodGet, BasePath+"/runs/"+id, "admin", "", nil)
	if json.Unmarshal(b, &rl) != nil || len(rl.Request.Tags) != 0 || rl.RunLog.Stdout == "" {
		t.Errorf("admin's view (no tags, logs): %s", b)
	}
	_, b, _ = h.do(http.MethodGet, BasePath+"/runs?page_size=5", "admin", "", nil)
	if strings.Contains(string(b), "s1") {
		t.Errorf("tags listed to an admin: %s", b)
	}

	// A trail that cannot be written refuses the submission: nothing unaudited happens.
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	h2 := newSealedHarness(t, func(_ *testConfig, d *testDeps) { d.Audit = audit.New(down, audit.Options{}) })
	ct, body := form(t, field("workflow_url", "cohort-count-smk"), field("workflow_params", `{"cohort": "cohort-demo"}`))
	if st, b, _ := h2.do(http.MethodPost, BasePath+"/runs", "alice", ct, body); st != http.StatusServiceUnavailable || len(h2.runDirs()) != 0 {
		t.Errorf("submit with the audit trail down: %d %s, dirs %v", st, b, h2.runDirs())
	}
}

// storeOutput puts content as a released output of run id and returns the output.
func (h *sealedHarness) storeOutput(owner, id, path, content string) wes.Output {
	h.t.Helper()
	key := egress.KeyPrefix(owner, id) + path
	info, err := h.results.Put(context.Background(), key, strings.NewReader(content), int64(len(content)), "text/csv")
	if err != nil {
		h.t.Fatal(err)
	}
	return wes.Output{Path: path, Size: info.Size, SHA256: info.SHA256, ContentType: "text/csv", Key: key, Status: wes.OutputReleased}
}

func TestSealedOutputsLogsAndReview(t *testing.T) {
	h := newSealedHarness(t)
	r := h.createRun("alice", func(r *wes.Run) { r.Workflow = "cohort-count-smk"; r.Datasets = []string{"cohort-demo"} })
	h.setState(r.ID, wes.StateRunning, wes.StateComplete)
	good := h.storeOutput("alice", r.ID, "results/summary.csv", "site,count\nx,5\n")
	bad := h.storeOutput("alice", r.ID, "results/other.csv", "a\n")
	bad.SHA256 = strings.Repeat("0", 64) // the store no longer holds what was released
	if _, err := h.store.Update(context.Background(), r.ID, func(run *wes.Run) error {
		run.Released = []wes.Output{good, bad, {Path: "results/held.csv", Status: wes.OutputRejected}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, user string
		status     int
	}{
		{"results%2Fsummary.csv", "alice", 200}, {"results/summary.csv", "alice", 200}, {"results%2Fsummary.csv", "bob", 404},
		{"results%2Fother.csv", "alice", 500}, {"results%2Fheld.csv", "alice", 403}, {"results%2Fnone.csv", "alice", 404},
		{"results/summary.csv/", "alice", 404},
	} {
		st, b, hdr := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/outputs/"+tt.path, tt.user, "", nil)
		if st != tt.status || (st == 200 && (string(b) != "site,count\nx,5\n" || hdr.Get("X-Enclave-SHA256") != good.SHA256)) {
			t.Errorf("download %s as %s: %d %q, want %d", tt.path, tt.user, st, b, tt.status)
		}
	}
	page, err := h.audit.Query(context.Background(), audit.Filter{RunID: r.ID, Action: "output.download"})
	if err != nil || len(page.Entries) != 3 || page.Entries[2].Event.Outcome != "error" {
		t.Errorf("download events: %+v %v", page.Entries, err)
	}

	// logs: admin for this workflow, owner for the CWL one, admin for one that left the catalogue.
	gone := h.createRun("alice", func(r *wes.Run) { r.Workflow = "retired-workflow" })
	cwlRun := h.createRun("alice", func(r *wes.Run) { r.Workflow = "cohort-count-cwl" })
	for _, tt := range []struct {
		id, user string
		status   int
	}{{r.ID, "alice", 403}, {r.ID, "carol", 200}, {r.ID, "admin", 200}, {cwlRun.ID, "alice", 200}, {gone.ID, "alice", 403}} {
		if st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+tt.id+"/logs/stdout", tt.user, "", nil); st != tt.status {
			t.Errorf("logs of %s as %s: %d %s, want %d", tt.id, tt.user, st, b, tt.status)
		}
	}
	writeTasks(t, r.WorkDir, []wes.Task{{ID: "1", Name: "copy", Cmd: []string{"cp /zone/data x"}}})
	_, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/tasks/1", "alice", "", nil)
	if !strings.Contains(string(b), `"name":"copy"`) || strings.Contains(string(b), "cmd") {
		t.Errorf("a researcher sees a task's command: %s", b)
	}
	if _, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/tasks/1", "carol", "", nil); !strings.Contains(string(b), "/zone/data") {
		t.Errorf("a data controller does not see the command: %s", b)
	}

	review := func(user, ct, body string) int {
		st, _, _ := h.do(http.MethodPost, BasePath+"/runs/"+r.ID+"/outputs/review", user, ct, strings.NewReader(body))
		return st
	}
	if st := review("carol", "application/json", `{"decision": "approve"}`); st != http.StatusConflict {
		t.Errorf("review without pending outputs: %d", st)
	}
	if st := review("carol", "text/plain", `{"decision": "approve"}`); st != http.StatusBadRequest {
		t.Errorf("review as text/plain: %d", st)
	}
	if st := review("carol", "application/json", `{"decision": "reject", "reason": "`+strings.Repeat("x", 70<<10)+`"}`); st != http.StatusRequestEntityTooLarge {
		t.Errorf("a huge review: %d", st)
	}
	if st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/outputs", "alice", "", nil); st != 200 || !strings.Contains(string(b), `"egress":"auto"`) {
		t.Errorf("outputs: %d %s", st, b)
	}
}
