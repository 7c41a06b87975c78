package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/metrics"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// BenchmarkGetRunStatus measures GET /runs/{id}/status through the whole handler chain
// on a real Redis, next to the floor `make bench` divides by: a bare gin handler doing
// one Redis GET of the same record. Run with -cpuprofile or -memprofile to see where a
// request's time and allocations go.
func BenchmarkGetRunStatus(b *testing.B) {
	rdb := testutil.Redis(b)
	store := redisstore.New(rdb, redisstore.Options{Prefix: testutil.UniqueName("enclave-bench-") + ":"})
	u, _ := uuid.NewV7()
	r := &wes.Run{ID: u.String(), Owner: "alice", State: wes.StateRunning, Engine: "snakemake", EngineVer: "8.4.0",
		Executor: "local", WorkDir: "/zone/runs/" + u.String() + "/work",
		Request: wes.RunRequest{WorkflowType: "SMK", WorkflowTypeVersion: "1.0", WorkflowURL: "Snakefile",
			WorkflowParams: json.RawMessage(`{"msg":"bench"}`), Tags: map[string]string{"bench": "enclave"},
			WorkflowEngineParameters: map[string]string{"cores": "1"}, Attachments: []string{"Snakefile"}},
		Log: wes.RunLog{Cmd: []string{"snakemake", "--snakefile", "Snakefile", "--cores", "1", "--configfile", "params.json"},
			SystemLogs: []string{"queued", "job submitted to local"}}}
	if err := store.Create(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	handler, err := newAPI(testConfig{DataDir: b.TempDir()}, testDeps{Store: store, Dispatcher: &recordingDispatcher{},
		Engines: engines.NewRegistry(testEngine{"tester"}), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	serve := func(b *testing.B, h http.Handler, path string) {
		b.ReportAllocs()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	}
	b.Run("enclave", func(b *testing.B) { serve(b, handler, BasePath+"/runs/"+r.ID+"/status") })
	measured, err := newAPI(testConfig{DataDir: b.TempDir()}, testDeps{Store: store, Dispatcher: &recordingDispatcher{},
		Engines: engines.NewRegistry(testEngine{"tester"}), Logger: slog.New(slog.DiscardHandler), Metrics: metrics.New()})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("enclave+metrics", func(b *testing.B) { serve(b, measured, BasePath+"/runs/"+r.ID+"/status") })
	b.Run("floor", func(b *testing.B) {
		key := "enclave-floor:" + r.ID
		data, _ := json.Marshal(r)
		rdb.Set(context.Background(), key, data, 0)
		b.Cleanup(func() { rdb.Del(context.Background(), key) })
		e := gin.New()
		e.GET("/status/:id", func(c *gin.Context) {
			v, err := rdb.Get(c.Request.Context(), key).Bytes()
			if err != nil {
				c.JSON(http.StatusInternalServerError, gin.H{"msg": err.Error()})
				return
			}
			c.JSON(http.StatusOK, gin.H{"run_id": c.Param("id"), "state": "QUEUED", "bytes": len(v)})
		})
		serve(b, e, "/status/"+r.ID)
	})
}
