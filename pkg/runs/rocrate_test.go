package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/egresstest"
	"github.com/spe4hd/enclave/pkg/egress/s3"
	"github.com/spe4hd/enclave/pkg/engines/builtin"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/wes"
)

// nopDispatcher queues nothing: the tests play the worker's part themselves.
type nopDispatcher struct{}

func (nopDispatcher) Start(context.Context, string) error    { return nil }
func (nopDispatcher) Cancel(context.Context, string) error   { return nil }
func (nopDispatcher) Finalize(context.Context, string) error { return nil }

// crateCatalog is the example catalogue with its review-mode CWL entry releasing up to
// two CSV files, and its dataset declaring a version and a checksum. It returns the
// holder and the catalogue's directory.
func crateCatalog(t *testing.T) (*catalog.Holder, string) {
	t.Helper()
	return exampleCatalog(t,
		[2]string{"      globs: [outputs/summary.csv]\n      max_file_bytes: 1048576\n      max_files: 1\n",
			"      globs: [outputs/*.csv]\n      max_file_bytes: 1048576\n      max_files: 2\n"},
		[2]string{"    path: cohort-demo/patients.csv\n",
			"    path: cohort-demo/patients.csv\n    version: \"2024-06\"\n    checksum: sha256:" + strings.Repeat("5a", 32) + "\n"})
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// The RO-Crate of a review-mode run names the catalogue entry's version and the sha256
// of every workflow file as recorded at submission, the dataset by id with its declared
// version and checksum, and of the run's outputs only the one a reviewer released, never
// the one withheld, nor a zone path, an object key, a parameter value or a tag. Each
// export is audited; a researcher who may not see the run gets 404; after erasure the
// crate still says what ran, with no outputs.
func TestROCrateOfAReviewedRun(t *testing.T) {
	ctx := context.Background()
	store, err := s3.New(ctx, egresstest.S3Config(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	holder, catDir := crateCatalog(t)
	e := newTestEnv(t, func(d *Deps) {
		d.Catalog, d.Results, d.Dispatcher = holder, store, nopDispatcher{}
		d.Engines = builtin.Engines(builtin.Config{Cwltool: cwl.Config{Versions: []string{"3.1.20250110"}}}, nil)
	})
	e.s.cfg.Mode = ModeSealed

	alice := &wes.Principal{Subject: "alice", Roles: []string{wes.RoleResearcher}, Groups: []string{"cohort-analysts"}}
	d, err := e.s.BeginSubmit(ctx, alice, "", false)
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.s.Submit(ctx, d, &wes.RunRequest{WorkflowURL: "cohort-count-cwl",
		WorkflowParams: json.RawMessage(`{"cohort": "cohort-demo", "group_by": "age_band"}`),
		Tags:           map[string]string{"note": "follow-up-of-p0042"}}, "h")
	d.End(ctx, err)
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	cwlSum := fileSum(t, filepath.Join(catDir, "workflows/cohort-count-cwl/cohort-count.cwl"))
	pySum := fileSum(t, filepath.Join(catDir, "workflows/cohort-count-cwl/summarise.py"))
	if p := run.Provenance; p == nil || p.Workflow != "cohort-count-cwl" || p.WorkflowVersion != "1.0.0" ||
		!slices.Equal(p.Files, []wes.ProvenanceFile{{Path: "cohort-count.cwl", SHA256: cwlSum}, {Path: "summarise.py", SHA256: pySum}}) ||
		p.Engine != "cwltool" || p.EngineVersion != "3.1.20250110" || p.Executor != "local" ||
		len(p.Datasets) != 1 || p.Datasets[0].Version != "2024-06" || p.Datasets[0].Checksum != "sha256:"+strings.Repeat("5a", 32) {
		t.Fatalf("provenance recorded at submission: %+v", run.Provenance)
	}

	// The worker's part: the job ran and egress held its two tables for review.
	work := wes.LayoutFor(e.dataDir, id).WorkDir()
	if err := os.MkdirAll(filepath.Join(work, "outputs"), 0o750); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"summary.csv": "age_band,n\n40-49,12\n", "detail.csv": "age_band,n\n50-59,9\n"} {
		if err := os.WriteFile(filepath.Join(work, "outputs", name), []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	entry, _ := holder.Catalog().Entry("cohort-count-cwl")
	held, _, err := (&egress.Releaser{Results: store}).Finish(ctx, run, work, entry.Outputs, entry.Egress, nil)
	if err != nil || len(held) != 2 {
		t.Fatalf("egress held %+v, %v", held, err)
	}
	image := "registry.example.org/enclave/engines:1.4@sha256:" + strings.Repeat("c3", 32)
	for _, st := range []wes.State{wes.StateInitializing, wes.StateRunning, wes.StateComplete} {
		if _, err := e.store.Update(ctx, id, func(r *wes.Run) error {
			r.State = st
			switch st {
			case wes.StateRunning:
				r.StartTime = time.Now().UTC()
				r.Provenance.Image, r.Provenance.Staged = image, r.StartTime
			case wes.StateComplete:
				r.EndTime, r.Released = time.Now().UTC(), held
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if c := fetchCrate(t, e.s, alice, id); len(c.results) != 0 {
		t.Errorf("outputs pending review are in the crate: %v", c.results)
	}

	// detail.csv changes after the run ended: the approval releases summary.csv only.
	if err := os.WriteFile(filepath.Join(work, "outputs", "detail.csv"), []byte("age_band,n\n50-59,3\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	carol := &wes.Principal{Subject: "carol", Roles: []string{wes.RoleDataController}}
	l, err := e.s.Review(ctx, carol, id, &Decision{Decision: Approve})
	if err != nil {
		t.Fatal(err)
	}
	var released wes.Output
	for _, o := range l.Outputs {
		switch o.Path {
		case "outputs/summary.csv":
			released = o.Output
		case "outputs/detail.csv":
			if o.Status != wes.OutputRejected {
				t.Fatalf("the changed file was %s", o.Status)
			}
		}
	}
	if released.Status != wes.OutputReleased {
		t.Fatalf("summary.csv was not released: %+v", l.Outputs)
	}

	c := fetchCrate(t, e.s, alice, id)
	wf := c.entity(t, c.mainEntity)
	if wf["@id"] != "workflow/cohort-count.cwl" || wf["version"] != "1.0.0" || wf["identifier"] != "cohort-count-cwl" || wf["sha256"] != cwlSum {
		t.Errorf("main workflow %v", wf)
	}
	if py := c.entity(t, "workflow/summarise.py"); py["sha256"] != pySum {
		t.Errorf("workflow file %v, want sha256 %s", py, pySum)
	}
	if !slices.Equal(c.results, []string{"outputs/outputs/summary.csv"}) {
		t.Fatalf("results %v, want the released file only", c.results)
	}
	out := c.entity(t, c.results[0])
	if out["sha256"] != released.SHA256 || out["contentSize"] != strconv.FormatInt(released.Size, 10) || out["encodingFormat"] != released.ContentType {
		t.Errorf("released output %v, want sha256 %s", out, released.SHA256)
	}
	ds := c.entity(t, "#dataset-cohort-demo")
	if ds["version"] != "2024-06" || ds["sha256"] != strings.Repeat("5a", 32) || !slices.Contains(c.objects, "#dataset-cohort-demo") {
		t.Errorf("dataset %v, objects %v", ds, c.objects)
	}
	if img := c.entity(t, "#image"); img["registry"] != "registry.example.org" || img["name"] != "enclave/engines" || img["tag"] != "1.4" {
		t.Errorf("image %v", img)
	}
	if eng := c.entity(t, "#engine"); eng["name"] != "cwltool" || eng["softwareVersion"] != "3.1.20250110" {
		t.Errorf("engine %v", eng)
	}
	for _, bad := range []string{"detail.csv", e.dataDir, catDir, work, egress.KeyPrefix("alice", id), "age_band", "p0042"} {
		if strings.Contains(c.body, bad) {
			t.Errorf("the crate contains %q", bad)
		}
	}
	page, err := e.trail.Query(ctx, wes.AuditFilter{Action: actionROCrate})
	if err != nil || len(page.Entries) != 2 || page.Entries[0].Event.Actor != "alice" || page.Entries[0].Event.RunID != id {
		t.Errorf("audit of the exports: %+v %v", page.Entries, err)
	}

	mallory := &wes.Principal{Subject: "mallory", Roles: []string{wes.RoleResearcher}, Groups: []string{"cohort-analysts"}}
	if _, err := e.s.ROCrate(ctx, mallory, id); !wes.IsCode(err, wes.ENOTFOUND) {
		t.Errorf("another researcher's crate: %v, want ENOTFOUND", err)
	}
	if _, err := e.s.ROCrate(ctx, carol, id); err != nil {
		t.Errorf("a reviewer's crate: %v", err)
	}

	// Erasure keeps the provenance (it holds no params) and drops the outputs.
	if _, err := e.s.Delete(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	c = fetchCrate(t, e.s, alice, id)
	if wf := c.entity(t, c.mainEntity); wf["version"] != "1.0.0" || wf["sha256"] != cwlSum || len(c.results) != 0 {
		t.Errorf("after delete: workflow %v, results %v", wf, c.results)
	}
}

// crate is a fetched RO-Crate, checked for the shape of a Workflow Run Crate.
type crate struct {
	body       string
	byID       map[string]map[string]any
	mainEntity string
	results    []string // the run's CreateAction result ids
	objects    []string
}

func (c *crate) entity(t *testing.T, id string) map[string]any {
	t.Helper()
	e, ok := c.byID[id]
	if !ok {
		t.Fatalf("the crate has no entity %q", id)
	}
	return e
}

// fetchCrate gets run id's crate as p and checks its JSON-LD shape: the RO-Crate 1.1
// context, a flat @graph of entities with unique ids, every reference resolving; the
// metadata descriptor conforming to RO-Crate 1.1 about the root; the root Dataset
// conforming to the three Workflow Run Crate profiles, with a ComputationalWorkflow as
// mainEntity and mentioning a CreateAction whose instrument is that workflow, whose
// results are File entities in the graph, and which an OrganizeAction of the engine has
// as its result.
func fetchCrate(t *testing.T, s *Service, p *wes.Principal, id string) *crate {
	t.Helper()
	b, err := s.ROCrate(context.Background(), p, id)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context []string         `json:"@context"`
		Graph   []map[string]any `json:"@graph"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("not a JSON-LD document: %v\n%s", err, b)
	}
	if !slices.Contains(doc.Context, "https://w3id.org/ro/crate/1.1/context") {
		t.Fatalf("@context %v lacks RO-Crate 1.1", doc.Context)
	}
	c := &crate{body: string(b), byID: map[string]map[string]any{}}
	for _, e := range doc.Graph {
		id, _ := e["@id"].(string)
		if id == "" || e["@type"] == nil {
			t.Fatalf("entity without @id or @type: %v", e)
		}
		if _, dup := c.byID[id]; dup {
			t.Fatalf("@id %q used twice", id)
		}
		c.byID[id] = e
	}
	ids := func(v any) []string {
		var out []string
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["@id"].(string); ok {
				out = append(out, s)
			}
		case []any:
			for _, y := range x {
				if m, ok := y.(map[string]any); ok {
					if s, ok := m["@id"].(string); ok {
						out = append(out, s)
					}
				}
			}
		}
		return out
	}
	hasType := func(e map[string]any, typ string) bool {
		switch x := e["@type"].(type) {
		case string:
			return x == typ
		case []any:
			return slices.Contains(x, any(typ))
		}
		return false
	}
	for _, e := range doc.Graph {
		for k, v := range e {
			for _, r := range ids(v) {
				if _, ok := c.byID[r]; !ok && !external(r) {
					t.Errorf("%s.%s refers to %q, which is not in the graph", e["@id"], k, r)
				}
			}
		}
	}
	md := c.entity(t, "ro-crate-metadata.json")
	if !slices.Contains(ids(md["conformsTo"]), "https://w3id.org/ro/crate/1.1") || !slices.Equal(ids(md["about"]), []string{"./"}) {
		t.Fatalf("metadata descriptor %v", md)
	}
	root := c.entity(t, "./")
	if !hasType(root, "Dataset") || root["name"] == nil || root["datePublished"] == nil {
		t.Fatalf("root %v", root)
	}
	for _, prof := range []string{"https://w3id.org/ro/wfrun/process/0.5", "https://w3id.org/ro/wfrun/workflow/0.5", "https://w3id.org/ro/wfrun/provenance/0.5"} {
		if !slices.Contains(ids(root["conformsTo"]), prof) {
			t.Errorf("root does not conform to %s: %v", prof, root["conformsTo"])
		}
	}
	main := ids(root["mainEntity"])
	if len(main) != 1 || !hasType(c.entity(t, main[0]), "ComputationalWorkflow") {
		t.Fatalf("mainEntity %v", root["mainEntity"])
	}
	c.mainEntity = main[0]
	var action map[string]any
	for _, m := range ids(root["mentions"]) {
		if e := c.entity(t, m); hasType(e, "CreateAction") {
			action = e
		}
	}
	if action == nil || !slices.Equal(ids(action["instrument"]), main) || len(ids(action["agent"])) != 1 {
		t.Fatalf("the root mentions no CreateAction of the main workflow: %v", root["mentions"])
	}
	c.results, c.objects = ids(action["result"]), ids(action["object"])
	parts := ids(root["hasPart"])
	for _, r := range c.results {
		if !hasType(c.entity(t, r), "File") || !slices.Contains(parts, r) {
			t.Errorf("result %s is not a File of the crate", r)
		}
	}
	organized := false
	for _, e := range doc.Graph {
		organized = organized || (hasType(e, "OrganizeAction") && slices.Equal(ids(e["result"]), []string{action["@id"].(string)}))
	}
	if !organized {
		t.Error("no OrganizeAction has the run as its result")
	}
	return c
}

// external reports whether a reference names a term or specification outside the crate
// (schema.org action statuses, the workflow-run terms, the RO-Crate specification),
// which a crate refers to without describing.
func external(id string) bool {
	for _, p := range []string{"http://schema.org/", "https://w3id.org/ro/terms/", "https://w3id.org/ro/crate/1.1"} {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}
