package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// The owner of a run learns of an unreleased output only that it is pending or rejected
// and why: no sha256, size or content type in any response (a brute force over
// candidates recovers a small file from its hash). Reviewers see them.
func TestUnreleasedOutputsHideHashAndSize(t *testing.T) {
	h := newSealedHarness(t)
	r := h.createRun("alice", func(r *wes.Run) { r.Workflow = "cohort-count-smk"; r.Datasets = []string{"cohort-demo"} })
	h.setState(r.ID, wes.StateRunning, wes.StateComplete)
	// A real held file, so the rejection below goes through the review endpoint.
	if err := os.MkdirAll(filepath.Join(r.WorkDir, "results"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.WorkDir, "results", "small.csv"), []byte("n\n3\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	released := h.storeOutput("alice", r.ID, "results/summary.csv", "site,count\nx,5\n")
	small := wes.Output{Path: "results/small.csv", Size: 4, SHA256: strings.Repeat("a1", 32), ContentType: "text/csv", Status: wes.OutputPending}
	held := wes.Output{Path: "results/held.csv", Size: 7, SHA256: strings.Repeat("b2", 32), ContentType: "text/csv", Status: wes.OutputPending}
	if _, err := h.store.Update(context.Background(), r.ID, func(run *wes.Run) error {
		run.Released = []wes.Output{released, small}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// carol rejects the pending file; her answer shows its hash, and the reason is kept.
	st, b, _ := h.do(http.MethodPost, BasePath+"/runs/"+r.ID+"/outputs/review", "carol", "application/json",
		strings.NewReader(`{"decision": "reject", "reason": "count below 5"}`))
	if st != http.StatusOK || !strings.Contains(string(b), small.SHA256) {
		t.Fatalf("review as carol: %d %s", st, b)
	}
	if _, err := h.store.Update(context.Background(), r.ID, func(run *wes.Run) error {
		run.Released = append(run.Released, held)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	secrets := []string{small.SHA256, held.SHA256, `"size":4`, `"size":7`}
	for _, path := range []string{"/runs/" + r.ID + "/outputs", "/runs/" + r.ID} {
		_, b := get(t, h, path, "alice")
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("the owner's GET %s shows %s of an unreleased output: %s", path, s, b)
			}
		}
		if !strings.Contains(string(b), released.SHA256) || !strings.Contains(string(b), "count below 5") {
			t.Errorf("the owner's GET %s lacks the released output's hash or the rejection's reason: %s", path, b)
		}
		_, b = get(t, h, path, "carol")
		for _, s := range secrets[:2] {
			if !strings.Contains(string(b), s) {
				t.Errorf("the reviewer's GET %s lacks %s: %s", path, s, b)
			}
		}
	}

	var l api.RunOutputList
	_, b = get(t, h, "/runs/"+r.ID+"/outputs", "alice")
	if err := json.Unmarshal(b, &l); err != nil || len(l.Outputs) != 3 {
		t.Fatalf("outputs %s: %v", b, err)
	}
	for _, o := range l.Outputs {
		want := map[string]string{"results/summary.csv": "released", "results/small.csv": "rejected", "results/held.csv": "pending"}[o.Path]
		if string(o.Status) != want || (o.Status != api.RunOutputStatusReleased && (o.ContentType != "" || o.Url != "")) {
			t.Errorf("owner's view of %s: %+v", o.Path, o)
		}
	}

	// Downloads of unreleased outputs say why, and nothing about the file.
	for path, status := range map[string]int{"results%2Fsmall.csv": http.StatusForbidden, "results%2Fheld.csv": http.StatusConflict} {
		st, b, hdr := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/outputs/"+path, "alice", "", nil)
		if st != status || hdr.Get("X-Enclave-SHA256") != "" || strings.Contains(string(b), small.SHA256) || strings.Contains(string(b), held.SHA256) {
			t.Errorf("download %s: %d %s", path, st, b)
		}
		if status == http.StatusForbidden && !strings.Contains(string(b), "count below 5") {
			t.Errorf("a rejected output's download does not say why: %s", b)
		}
	}
}

// get answers GET BasePath+path as user, failing the test unless it is 200.
func get(t *testing.T, h *sealedHarness, path, user string) (int, []byte) {
	t.Helper()
	st, b, _ := h.do(http.MethodGet, BasePath+path, user, "", nil)
	if st != http.StatusOK {
		t.Fatalf("GET %s as %s: %d %s", path, user, st, b)
	}
	return st, b
}
