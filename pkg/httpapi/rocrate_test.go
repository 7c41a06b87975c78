package httpapi

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// GET /runs/{run_id}/ro-crate answers the run service's crate as JSON-LD to whoever may
// see the run, with its released output and without the one held for review; another
// researcher gets the WES 404.
func TestGetRunROCrate(t *testing.T) {
	h := newSealedHarness(t)
	r := h.createRun("alice", func(r *wes.Run) {
		r.Workflow, r.Datasets = "cohort-count-smk", []string{"cohort-demo"}
		r.Provenance = &wes.Provenance{Workflow: "cohort-count-smk", WorkflowVersion: "1.0.0", Main: "Snakefile",
			Files: []wes.ProvenanceFile{{Path: "Snakefile", SHA256: strings.Repeat("d4", 32)}}}
	})
	h.setState(r.ID, wes.StateRunning, wes.StateComplete)
	released := h.storeOutput("alice", r.ID, "results/summary.csv", "site,count\nx,5\n")
	held := wes.Output{Path: "results/held.csv", Size: 7, SHA256: strings.Repeat("b2", 32), Status: wes.OutputPending}
	if _, err := h.store.Update(context.Background(), r.ID, func(run *wes.Run) error {
		run.Released = []wes.Output{released, held}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	for _, user := range []string{"alice", "carol"} {
		st, b, hdr := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/ro-crate", user, "", nil)
		mt, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
		if st != http.StatusOK || mt != "application/ld+json" {
			t.Fatalf("GET ro-crate as %s: %d %s %s", user, st, hdr.Get("Content-Type"), b)
		}
		var doc api.ROCrateMetadata
		if err := json.Unmarshal(b, &doc); err != nil || len(doc.Context) == 0 || len(doc.Graph) == 0 {
			t.Fatalf("not an RO-Crate document: %v %s", err, b)
		}
		body := string(b)
		if !strings.Contains(body, released.SHA256) || !strings.Contains(body, strings.Repeat("d4", 32)) {
			t.Errorf("%s's crate lacks the released output's or the workflow's sha256: %s", user, body)
		}
		for _, bad := range []string{held.SHA256, "held.csv", released.Key, h.dataDir} {
			if strings.Contains(body, bad) {
				t.Errorf("%s's crate contains %q", user, bad)
			}
		}
	}
	st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/ro-crate", "mallory", "", nil)
	var e api.ErrorResponse
	if st != http.StatusNotFound || json.Unmarshal(b, &e) != nil || e.StatusCode != http.StatusNotFound {
		t.Errorf("another researcher: %d %s, want a WES 404", st, b)
	}
}
