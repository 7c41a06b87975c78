// Package metrics holds Enclave's Prometheus collectors in one Registry that the other
// packages are handed (never a global): each records through nil-safe methods, so a
// package built without metrics (tests, tools) passes nil and records nothing.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Operation labels of requests that are not an operation of the WES API.
const (
	OpPortal = "portal" // a page or asset of the web portal
	OpOther  = "other"  // /healthz, /readyz, /metrics, unknown paths, requests refused while starting
)

// Registry is the set of Enclave's metrics. A nil *Registry records nothing.
type Registry struct {
	reg *prometheus.Registry

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	stepDuration  *prometheus.HistogramVec
	execDuration  *prometheus.HistogramVec
	execErrors    *prometheus.CounterVec
	reconcile     prometheus.Histogram
	liveRuns      prometheus.Gauge
	egressFiles   *prometheus.CounterVec
	egressBytes   *prometheus.CounterVec
	checksFailed  *prometheus.CounterVec
	authFailures  *prometheus.CounterVec
	auditDuration prometheus.Histogram
	auditErrors   prometheus.Counter
	readyFn       func() bool
	handler       http.Handler
	runStates     *cached
	queueDepth    *cached
}

// Egress outcomes (enclave_egress_*_total{outcome}).
const (
	EgressReleased = "released"
	EgressRefused  = "refused"
	EgressPending  = "pending"
)

// Auth failure reasons (enclave_auth_failures_total{reason}).
const (
	AuthMissing     = "missing"     // no bearer token where one is needed
	AuthInvalid     = "invalid"     // a token that is malformed, badly signed or for another audience
	AuthExpired     = "expired"     // a token past its expiry
	AuthForbidden   = "forbidden"   // a valid user without access (role, scope, entitlement)
	AuthUnavailable = "unavailable" // the identity provider could not be reached
)

// latency buckets: 1 ms to about 30 s, for HTTP, steps, executor calls and reconcile passes.
var latency = prometheus.ExponentialBuckets(0.001, 2.5, 12)

// New returns a Registry with every Enclave family and the Go runtime and process
// collectors registered.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enclave_http_requests_total",
		Help: "HTTP requests answered, by OpenAPI operationId (or portal/other) and status code."}, []string{"operation", "status"})
	r.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "enclave_http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by operation.", Buckets: latency}, []string{"operation"})
	r.stepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "enclave_step_duration_seconds",
		Help: "Time a worker spent on one run lifecycle step (start, cancel, finalize).", Buckets: latency}, []string{"step"})
	r.execDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "enclave_executor_call_duration_seconds",
		Help: "Time of one call to an executor backend, by executor and call.", Buckets: latency}, []string{"executor", "call"})
	r.execErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enclave_executor_errors_total",
		Help: "Executor calls that returned an error, by executor and call."}, []string{"executor", "call"})
	r.reconcile = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "enclave_reconcile_duration_seconds",
		Help: "Time of one reconcile pass over the live runs.", Buckets: latency})
	r.liveRuns = prometheus.NewGauge(prometheus.GaugeOpts{Name: "enclave_live_runs",
		Help: "Runs not in a terminal state at the last reconcile pass."})
	r.egressFiles = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enclave_egress_files_total",
		Help: "Output files decided at egress, by outcome (released, refused, pending review)."}, []string{"outcome"})
	r.egressBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enclave_egress_bytes_total",
		Help: "Bytes of the output files decided at egress, by outcome (refused files of unknown size count 0)."}, []string{"outcome"})
	r.checksFailed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enclave_egress_checks_failed_total",
		Help: "Disclosure checks an output file failed, by check."}, []string{"check"})
	r.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enclave_auth_failures_total",
		Help: "API requests refused by authentication, by reason."}, []string{"reason"})
	r.auditDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "enclave_audit_append_duration_seconds",
		Help: "Time to append one event to the audit trail.", Buckets: latency})
	r.auditErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "enclave_audit_append_errors_total",
		Help: "Audit events that could not be appended to the trail."})
	ready := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "enclave_ready",
		Help: "1 while /readyz answers ready, else 0."}, func() float64 {
		if r.readyFn != nil && r.readyFn() {
			return 1
		}
		return 0
	})
	r.runStates = newCached(prometheus.NewDesc("enclave_runs", "Runs by WES state, from the run store.", []string{"state"}, nil), prometheus.GaugeValue)
	r.queueDepth = newCached(prometheus.NewDesc("enclave_queue_depth", "Tasks waiting in a queue (pending, scheduled and retrying).", []string{"queue"}, nil), prometheus.GaugeValue)
	r.reg.MustRegister(r.httpRequests, r.httpDuration, r.stepDuration, r.execDuration, r.execErrors, r.reconcile,
		r.liveRuns, r.egressFiles, r.egressBytes, r.checksFailed, r.authFailures, r.auditDuration, r.auditErrors,
		ready, r.runStates, r.queueDepth,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// One handler, so that its limit of concurrent scrapes holds across requests.
	r.handler = promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
	// Families with a fixed label set show every series from the start, at 0, so alerts
	// on rate() see the first failure.
	for _, o := range []string{EgressReleased, EgressRefused, EgressPending} {
		r.egressFiles.WithLabelValues(o)
		r.egressBytes.WithLabelValues(o)
	}
	for _, a := range []string{AuthMissing, AuthInvalid, AuthExpired, AuthForbidden, AuthUnavailable} {
		r.authFailures.WithLabelValues(a)
	}
	return r
}

// Handler serves the registry in the Prometheus text (or OpenMetrics) format.
func (r *Registry) Handler() http.Handler {
	if r == nil {
		return http.NotFoundHandler()
	}
	return r.handler
}

// Gatherer is the underlying registry, for tests and for adding collectors.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// SetReady sets what enclave_ready reports (1 when fn returns true). fn must be cheap:
// it runs at every scrape.
func (r *Registry) SetReady(fn func() bool) {
	if r != nil {
		r.readyFn = fn
	}
}
