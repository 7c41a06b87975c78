package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A nil Registry records nothing and does not panic: packages built without metrics
// pass nil.
func TestNilRegistry(t *testing.T) {
	var r *Registry
	r.HTTP("GetRunStatus", 200, time.Millisecond)
	r.Step("start", time.Millisecond)
	r.ExecutorCall("local", "submit", time.Millisecond, errors.New("x"))
	r.Reconcile(time.Millisecond, 3)
	r.EgressFile(EgressReleased, 10)
	r.CheckFailed("max_rows")
	r.AuthFailure(AuthExpired)
	r.AuditAppend(time.Millisecond, nil)
	r.SetReady(func() bool { return true })
	r.SetRunStates(nil)
	r.InitExecutors("local")
}

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(w.Result().Body)
	return string(b)
}

// Scrape-time families are read once per cacheTTL however often they are scraped, and
// a failed read leaves the family out (no stale or made-up 0).
func TestScrapeTimeSourceCachedAndAbsentOnError(t *testing.T) {
	r := New()
	var reads atomic.Int32
	fail := atomic.Bool{}
	r.SetRunStates(func(context.Context) (map[string]float64, error) {
		reads.Add(1)
		if fail.Load() {
			return nil, errors.New("store down")
		}
		return map[string]float64{"RUNNING": 2}, nil
	})
	for range 5 {
		if s := scrape(t, r); !strings.Contains(s, `enclave_runs{state="RUNNING"} 2`) {
			t.Fatalf("no run count in the scrape:\n%s", s)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("5 scrapes read the store %d times, want 1 (cached)", n)
	}
	fail.Store(true)
	r.runStates.mu.Lock()
	r.runStates.at = time.Time{} // the cache has expired
	r.runStates.mu.Unlock()
	if s := scrape(t, r); strings.Contains(s, "enclave_runs{") {
		t.Errorf("a failed read still shows run counts:\n%s", s)
	}
}

// Requests are counted by operation and status; the status label of an odd code stays
// within a fixed set.
func TestHTTPLabels(t *testing.T) {
	r := New()
	r.HTTP("GetRunStatus", 200, time.Millisecond)
	r.HTTP(OpOther, 999, time.Millisecond)
	s := scrape(t, r)
	for _, want := range []string{`enclave_http_requests_total{operation="GetRunStatus",status="200"} 1`,
		`enclave_http_requests_total{operation="other",status="other"} 1`} {
		if !strings.Contains(s, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

func BenchmarkHTTP(b *testing.B) {
	r := New()
	b.ReportAllocs()
	for b.Loop() {
		r.HTTP("GetRunStatus", 200, time.Millisecond)
	}
}
