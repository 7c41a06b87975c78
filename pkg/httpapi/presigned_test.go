package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/egresstest"
	"github.com/spe4hd/enclave/pkg/egress/s3"
	"github.com/spe4hd/enclave/pkg/wes"
)

// On a store that can presign (MinIO), outputs point at the API's audited download route
// unless presigned URLs are switched on; then each URL handed out is audited as it is
// issued, and one the trail cannot record is not handed out.
func TestPresignedURLsAreOptInAndAudited(t *testing.T) {
	ctx := context.Background()
	store, err := s3.New(ctx, egresstest.S3Config(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	const content = "site,count\nx,5\n"
	setup := func(h *sealedHarness) (*wes.Run, wes.Output) {
		r := h.createRun("alice", func(r *wes.Run) { r.Workflow = "cohort-count-smk"; r.Datasets = []string{"cohort-demo"} })
		h.setState(r.ID, wes.StateRunning, wes.StateComplete)
		key := egress.KeyPrefix("alice", r.ID) + "results/summary.csv"
		info, err := store.Put(ctx, key, strings.NewReader(content), int64(len(content)), "text/csv")
		if err != nil {
			t.Fatal(err)
		}
		o := wes.Output{Path: "results/summary.csv", Size: info.Size, SHA256: info.SHA256, ContentType: "text/csv", Key: key, Status: wes.OutputReleased}
		if _, err := h.store.Update(ctx, r.ID, func(run *wes.Run) error { run.Released = []wes.Output{o}; return nil }); err != nil {
			t.Fatal(err)
		}
		return r, o
	}
	outputURL := func(h *sealedHarness, id string) string {
		var l api.RunOutputList
		_, b := get(t, h, "/runs/"+id+"/outputs", "alice")
		if err := json.Unmarshal(b, &l); err != nil || len(l.Outputs) != 1 {
			t.Fatalf("outputs: %s %v", b, err)
		}
		return l.Outputs[0].Url
	}
	route := func(h *sealedHarness, id string) string {
		return h.srv.URL + BasePath + "/runs/" + id + "/outputs/results%2Fsummary.csv"
	}

	// Default: the download route, no URL issued.
	h := newSealedHarness(t, func(_ *testConfig, d *testDeps) { d.Results = store })
	r, _ := setup(h)
	if u := outputURL(h, r.ID); u != route(h, r.ID) {
		t.Errorf("default output URL %q, want the download route", u)
	}
	if _, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID, "alice", "", nil); strings.Contains(string(b), "X-Amz") {
		t.Errorf("RunLog hands out a presigned URL by default: %s", b)
	}
	if evs := h.events(actionOutputURL); len(evs) != 0 {
		t.Errorf("URL events without presigned URLs: %+v", evs)
	}

	// Opted in: a presigned URL that works, audited with who, which output and its TTL.
	h = newSealedHarness(t, func(c *testConfig, d *testDeps) {
		d.Results = store
		c.PresignedURLs = true
		c.OutputURLTTL = 2 * time.Minute
	})
	r, o := setup(h)
	u := outputURL(h, r.ID)
	if !strings.Contains(u, "X-Amz-Signature") {
		t.Fatalf("opted-in output URL %q is not presigned", u)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != content {
		t.Errorf("GET the presigned URL: %d %q", resp.StatusCode, b)
	}
	evs := h.events(actionOutputURL)
	if len(evs) != 1 || evs[0].Actor != "alice" || evs[0].RunID != r.ID || evs[0].Detail["path"] != o.Path ||
		evs[0].Detail["sha256"] != o.SHA256 || evs[0].Detail["ttl_seconds"] != "120" || evs[0].Detail["expires"] == "" {
		t.Errorf("URL events: %+v", evs)
	}

	// A trail that cannot record the URL: the download route instead.
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	h = newSealedHarness(t, func(c *testConfig, d *testDeps) {
		d.Results = store
		c.PresignedURLs = true
		d.Audit = audit.New(down, audit.Options{})
	})
	r, _ = setup(h)
	if u := outputURL(h, r.ID); u != route(h, r.ID) {
		t.Errorf("with the trail down the output URL is %q, want the download route", u)
	}
}
