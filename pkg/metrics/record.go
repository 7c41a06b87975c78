package metrics

import (
	"strconv"
	"time"
)

// HTTP records one answered request. op must come from a bounded set (an operationId,
// OpPortal, OpOther), never from a raw path.
func (r *Registry) HTTP(op string, status int, d time.Duration) {
	if r == nil {
		return
	}
	r.httpRequests.WithLabelValues(op, statusText(status)).Inc()
	r.httpDuration.WithLabelValues(op).Observe(d.Seconds())
}

// statusTexts avoids formatting the common status codes on every request.
var statusTexts = func() map[int]string {
	m := map[int]string{}
	for c := 100; c < 600; c++ {
		m[c] = strconv.Itoa(c)
	}
	return m
}()

func statusText(c int) string {
	if s, ok := statusTexts[c]; ok {
		return s
	}
	return "other"
}

// Step records one lifecycle step a worker ran (start, cancel, finalize).
func (r *Registry) Step(step string, d time.Duration) {
	if r != nil {
		r.stepDuration.WithLabelValues(step).Observe(d.Seconds())
	}
}

// ExecutorCall records one call to an executor's backend and whether it failed.
func (r *Registry) ExecutorCall(executor, call string, d time.Duration, err error) {
	if r == nil {
		return
	}
	r.execDuration.WithLabelValues(executor, call).Observe(d.Seconds())
	if err != nil {
		r.execErrors.WithLabelValues(executor, call).Inc()
	}
}

// Reconcile records one reconcile pass and the live runs it saw (live < 0: the pass
// failed before reading them, and the gauge keeps its value).
func (r *Registry) Reconcile(d time.Duration, live int) {
	if r == nil {
		return
	}
	r.reconcile.Observe(d.Seconds())
	if live >= 0 {
		r.liveRuns.Set(float64(live))
	}
}

// EgressFile records the egress decision on one output file of size bytes (0 unknown).
func (r *Registry) EgressFile(outcome string, bytes int64) {
	if r == nil {
		return
	}
	r.egressFiles.WithLabelValues(outcome).Inc()
	if bytes > 0 {
		r.egressBytes.WithLabelValues(outcome).Add(float64(bytes))
	}
}

// CheckFailed records a disclosure check an output file failed. check is the check's
// kind (the catalogue's fixed vocabulary), never a value from the data.
func (r *Registry) CheckFailed(check string) {
	if r != nil {
		r.checksFailed.WithLabelValues(check).Inc()
	}
}

// AuthFailure records a request refused by authentication, for one of the Auth* reasons.
func (r *Registry) AuthFailure(reason string) {
	if r != nil {
		r.authFailures.WithLabelValues(reason).Inc()
	}
}

// AuditAppend records one append to the audit trail and whether it failed.
func (r *Registry) AuditAppend(d time.Duration, err error) {
	if r == nil {
		return
	}
	r.auditDuration.Observe(d.Seconds())
	if err != nil {
		r.auditErrors.Inc()
	}
}

// ExecutorCalls are the calls the runner makes of an executor (the call label).
var ExecutorCalls = []string{"submit", "status", "status_batch", "cancel", "cleanup", "collect"}

// InitExecutors shows the series of each named executor's calls at 0 before the first
// call, so that an alert on their rate sees the first error.
func (r *Registry) InitExecutors(names ...string) {
	if r == nil {
		return
	}
	for _, n := range names {
		for _, c := range ExecutorCalls {
			r.execErrors.WithLabelValues(n, c)
		}
	}
}

// InitChecks shows the series of the named disclosure checks at 0.
func (r *Registry) InitChecks(names ...string) {
	if r == nil {
		return
	}
	for _, n := range names {
		r.checksFailed.WithLabelValues(n)
	}
}

// InitSteps shows the step histogram's series at 0 observations.
func (r *Registry) InitSteps(steps ...string) {
	if r == nil {
		return
	}
	for _, s := range steps {
		r.stepDuration.WithLabelValues(s)
	}
}
