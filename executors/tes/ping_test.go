package tes

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Ping answers nil while the server serves service-info, and EUNAVAILABLE once it fails
// or is gone.
func TestPing(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ga4gh/tes/v1/service-info" && r.URL.Path != "/service-info" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte(`{"id":"x","name":"funnel","type":{"group":"org.ga4gh","artifact":"tes","version":"1.1"},"organization":{"name":"o","url":"https://o"},"version":"1"}`))
	}))
	e, _ := newUnit(t, srv.URL, nil)
	if err := e.Ping(context.Background()); err != nil {
		t.Fatalf("Ping of a serving TES = %v", err)
	}
	status.Store(http.StatusServiceUnavailable)
	if err := e.Ping(context.Background()); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Ping of a failing TES = %v, want EUNAVAILABLE", err)
	}
	srv.Close()
	if err := e.Ping(context.Background()); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Ping of a stopped TES = %v, want EUNAVAILABLE", err)
	}
}
