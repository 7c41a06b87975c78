package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spe4hd/enclave/pkg/egress/checks"
	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/queue"
)

// buildMetrics makes the process's metrics registry and its scrape-time sources: runs
// by state from the store's counts, and the depth of the step queue.
func (a *App) buildMetrics() {
	m := metrics.New()
	a.metrics = m
	m.InitChecks(checks.ForbiddenColumns, checks.MaxRows, checks.MinCellCount, checks.DenyPatterns, checks.DatasetOverlap, checks.Parse)
	if a.roles.Worker {
		m.InitExecutors(a.cfg.EnabledExecutors()...)
		m.InitSteps("start", "cancel", "finalize")
	}
	m.SetReady(func() bool { ok, _, _ := a.readyNow(); return ok })
	m.SetRunStates(func(ctx context.Context) (map[string]float64, error) {
		counts, err := a.store.StateCounts(ctx, "")
		if err != nil {
			return nil, err
		}
		out := make(map[string]float64, len(counts))
		for st, n := range counts {
			out[string(st)] = float64(n)
		}
		return out, nil
	})
	m.SetQueueDepth(func(context.Context) (map[string]float64, error) {
		name, n, err := a.dispatch.Depth()
		if err != nil {
			return nil, err
		}
		return map[string]float64{name: float64(n)}, nil
	})
}

// listenMetrics opens metrics.addr's listener, when it is set: a server of its own with
// /metrics, /healthz and /readyz, so that a worker (which has no API listener) can be
// scraped and probed too.
func (a *App) listenMetrics() error {
	addr := a.cfg.Metrics.Addr
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics.addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", a.serveMetrics)
	mux.HandleFunc("GET /readyz", a.serveReadyz)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !a.up.done.Load() {
			a.serveStarting(w, r)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	a.metricsLn = ln
	a.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: a.cfg.Server.ReadHeaderTimeout}
	return nil
}

// MetricsAddr is the address of metrics.addr's listener ("" without one).
func (a *App) MetricsAddr() string {
	if a.metricsLn == nil {
		return ""
	}
	return a.metricsLn.Addr().String()
}

// serveMetrics answers a scrape, after checking metrics.token when one is set.
func (a *App) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !a.cfg.Metrics.TokenOK(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="enclave-metrics"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"msg": "metrics need the bearer token configured as metrics.token", "status_code": http.StatusUnauthorized})
		return
	}
	a.metrics.Handler().ServeHTTP(w, r)
}

// serveMetricsListener serves metrics.addr until shutdown; errors go to errc.
func (a *App) serveMetricsListener(errc chan<- error) {
	if a.metricsSrv == nil {
		return
	}
	go func() {
		if err := a.metricsSrv.Serve(a.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics listener: %w", err)
		}
	}()
}

func (a *App) shutdownMetricsListener(ctx context.Context) {
	if a.metricsSrv != nil {
		_ = a.metricsSrv.Shutdown(ctx)
	}
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (a *App) observe(op string, w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	if a.metrics == nil {
		h(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		st := sw.status
		if st == 0 {
			st = http.StatusOK
		}
		a.metrics.HTTP(op, st, time.Since(start))
	}()
	h(sw, r)
}

// observeOther records the requests this package answers itself (/readyz, /metrics,
// refusals while starting) under the operation "other".
func (a *App) observeOther(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	a.observe(metrics.OpOther, w, r, h)
}

// observePortal records the portal's requests under the operation "portal".
func (a *App) observePortal(web http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.observe(metrics.OpPortal, w, r, web.ServeHTTP) })
}

// timedSteps times the worker's lifecycle steps (enclave_step_duration_seconds).
type timedSteps struct {
	h queue.Handlers
	m *metrics.Registry
}

func (t timedSteps) time(ctx context.Context, step string, f func(context.Context, string) error, id string) error {
	defer func(began time.Time) { t.m.Step(step, time.Since(began)) }(time.Now())
	return f(ctx, id)
}

func (t timedSteps) Start(ctx context.Context, id string) error {
	return t.time(ctx, "start", t.h.Start, id)
}

func (t timedSteps) Cancel(ctx context.Context, id string) error {
	return t.time(ctx, "cancel", t.h.Cancel, id)
}

func (t timedSteps) Finalize(ctx context.Context, id string) error {
	return t.time(ctx, "finalize", t.h.Finalize, id)
}
