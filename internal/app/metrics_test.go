package app

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// families parses a scrape of /metrics.
func families(t *testing.T, body string) map[string][]map[string]string {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	out := map[string][]map[string]string{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[name] = append(out[name], labels)
		}
	}
	return out
}

// hasSeries reports whether fam has a series whose labels include want.
func hasSeries(fam []map[string]string, want map[string]string) bool {
	for _, l := range fam {
		ok := true
		for k, v := range want {
			if l[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// A whole server (API, worker, local executor, real Redis) runs a workflow, and its
// /metrics then shows every family of the issue, with bounded labels: operations are
// operationIds, never paths with run ids.
func TestMetricsScrapeWholeServer(t *testing.T) {
	cfg := testConfig(t, redisAddr(t))
	t.Cleanup(func() { wipe(t, cfg) })
	cfg.Executor.Local.Confinement = "off" // the engine is a script in the test's dirs
	log := newLogTap()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server's log:\n%s", log)
		}
	})
	r := runApp(t, cfg, Roles{API: true, Worker: true}, log.logger())
	r.untilReady(t)

	st, body, _ := r.submit(t, smkRun())
	var v struct {
		RunID string `json:"run_id"`
	}
	if err := json.Unmarshal([]byte(body), &v); st != http.StatusOK || err != nil {
		t.Fatalf("submit: %d %s", st, body)
	}
	r.waitState(t, v.RunID, "COMPLETE")
	if st, _, _ := r.get(t, "/ga4gh/wes/v1/no/such/endpoint"); st != http.StatusNotFound {
		t.Errorf("unknown API path = %d", st)
	}

	// Runs by state are read at scrape time and cached: poll until the count shows.
	var fams map[string][]map[string]string
	var scrape string
	deadline := time.Now().Add(startupDeadline)
	for {
		st, scrape, _ = r.get(t, "/metrics")
		if st != http.StatusOK {
			t.Fatalf("/metrics = %d %s", st, scrape)
		}
		fams = families(t, scrape)
		if strings.Contains(scrape, `enclave_runs{state="COMPLETE"} 1`) && strings.Contains(scrape, "enclave_ready 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no COMPLETE run or not ready in /metrics within %s:\n%s", startupDeadline, scrape)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}

	for name, want := range map[string]map[string]string{
		"enclave_http_requests_total":            {"operation": "RunWorkflow", "status": "200"},
		"enclave_http_request_duration_seconds":  {"operation": "GetRunStatus"},
		"enclave_runs":                           {"state": "COMPLETE"},
		"enclave_queue_depth":                    {"queue": cfg.Redis.Queue},
		"enclave_step_duration_seconds":          {"step": "finalize"},
		"enclave_executor_call_duration_seconds": {"executor": "local", "call": "submit"},
		"enclave_executor_errors_total":          {"executor": "local", "call": "status"},
		"enclave_reconcile_duration_seconds":     {},
		"enclave_live_runs":                      {},
		"enclave_egress_files_total":             {"outcome": "released"},
		"enclave_egress_bytes_total":             {"outcome": "pending"},
		"enclave_egress_checks_failed_total":     {"check": "min_cell_count"},
		"enclave_auth_failures_total":            {"reason": "expired"},
		"enclave_audit_append_duration_seconds":  {},
		"enclave_audit_append_errors_total":      {},
		"enclave_ready":                          {},
	} {
		if !hasSeries(fams[name], want) {
			t.Errorf("%s has no series with %v; it has %v", name, want, fams[name])
		}
	}
	// The run went through them: not only declared, observed.
	for _, series := range []string{`enclave_step_duration_seconds_count{step="start"}`, `enclave_step_duration_seconds_count{step="finalize"}`,
		`enclave_executor_call_duration_seconds_count{call="submit",executor="local"}`, "enclave_reconcile_duration_seconds_count",
		"enclave_audit_append_duration_seconds_count"} {
		if !strings.Contains(scrape, series+" ") || strings.Contains(scrape, series+" 0\n") {
			t.Errorf("%s is missing or 0 after a run", series)
		}
	}
	if !hasSeries(fams["enclave_http_requests_total"], map[string]string{"operation": "other", "status": "404"}) {
		t.Errorf("the unknown API path is not counted as other/404: %v", fams["enclave_http_requests_total"])
	}
	// Bounded cardinality: no label value is a path or carries the run id.
	for name, series := range fams {
		for _, l := range series {
			for k, val := range l {
				if strings.Contains(val, "/") || strings.Contains(val, v.RunID) {
					t.Errorf("%s has an unbounded label %s=%q", name, k, val)
				}
			}
		}
	}
	for _, op := range []string{"GetRunStatus", "RunWorkflow"} {
		if !hasSeries(fams["enclave_http_requests_total"], map[string]string{"operation": op}) {
			t.Errorf("no requests of %s counted", op)
		}
	}
}

// metrics.token guards /metrics: a scrape without it gets 401, with it 200; and
// metrics.addr moves /metrics to a listener of its own, which also answers the probes.
func TestMetricsTokenAndListener(t *testing.T) {
	cfg := testConfig(t, redisAddr(t))
	t.Cleanup(func() { wipe(t, cfg) })
	cfg.Metrics.Token = "scrape-secret"
	cfg.Metrics.Addr = testutil.FreeAddr(t)
	r := runApp(t, cfg, Roles{API: true, Worker: true}, newLogTap().logger())
	r.untilReady(t)
	base := "http://" + r.a.MetricsAddr()
	if st, body, _ := do(t, http.MethodGet, base+"/metrics", "", nil); st != http.StatusUnauthorized || strings.Contains(body, "scrape-secret") {
		t.Errorf("/metrics without the token = %d %s", st, body)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer scrape-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/metrics with the token = %d", resp.StatusCode)
	}
	if st, _, _ := do(t, http.MethodGet, base+"/healthz", "", nil); st != http.StatusOK {
		t.Errorf("/healthz on metrics.addr = %d", st)
	}
	if st, _, _ := r.get(t, "/metrics"); st == http.StatusOK {
		t.Errorf("/metrics is still served on server.addr with metrics.addr set")
	}
}

// readyzFailing returns GET /readyz's status and its failing checks.
func (r *running) readyzFailing(t *testing.T) (int, []string, string) {
	t.Helper()
	st, body, _ := r.get(t, "/readyz")
	var v struct {
		Failing []string `json:"failing"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("/readyz: %d %q: %v", st, body, err)
	}
	return st, v.Failing, body
}

// untilReadyz polls /readyz until ok holds for its status and failing checks.
func (r *running) untilReadyz(t *testing.T, what string, ok func(int, []string) bool) string {
	t.Helper()
	deadline := time.Now().Add(startupDeadline)
	for {
		st, failing, body := r.readyzFailing(t)
		if ok(st, failing) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %s not seen within %s; last %d %s", what, startupDeadline, st, body)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

// A real redis-server stopped under a running server makes /readyz fail naming redis
// (and the audit trail, which lives there), without an address in the body, while
// /healthz (liveness) stays 200 and enclave_ready drops to 0; once Redis is back on its
// address, /readyz recovers.
func TestReadyzFollowsRedis(t *testing.T) {
	addr := testutil.FreeAddr(t)
	cmd := redisServer(t, addr, t.TempDir())
	pingUntil(t, addr, "PONG", func(err error) bool { return err == nil })
	cfg := testConfig(t, addr)
	log := newLogTap()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server's log:\n%s", log)
		}
	})
	r := runApp(t, cfg, Roles{API: true, Worker: true}, log.logger())
	r.untilReady(t)
	r.untilReadyz(t, "ready", func(st int, _ []string) bool { return st == http.StatusOK })

	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	body := r.untilReadyz(t, "redis failing", func(st int, f []string) bool {
		return st == http.StatusServiceUnavailable && slices.Contains(f, "redis")
	})
	if !strings.Contains(body, `"audit"`) || strings.Contains(body, addr) {
		t.Errorf("/readyz with Redis down: %s (want redis and audit named, no address)", body)
	}
	if st, _, _ := r.get(t, "/healthz"); st != http.StatusOK {
		t.Errorf("/healthz with Redis down = %d: liveness must not follow Redis (a restart does not help)", st)
	}
	if _, scrape, _ := r.get(t, "/metrics"); !strings.Contains(scrape, "enclave_ready 0") {
		t.Errorf("enclave_ready with Redis down is not 0")
	}

	redisServer(t, addr, t.TempDir())
	r.untilReadyz(t, "recovery", func(st int, f []string) bool { return st == http.StatusOK && len(f) == 0 })
}

// An enabled executor whose backend does not answer (a TES server on an address nothing
// listens on) keeps the worker out of readiness, named "executor tes" without its URL.
func TestReadyzNamesUnreachableExecutor(t *testing.T) {
	cfg := testConfig(t, redisAddr(t))
	t.Cleanup(func() { wipe(t, cfg) })
	gone := testutil.FreeAddr(t)
	cfg.Executor.TES.Enabled = true
	cfg.Executor.TES.URL = "http://" + gone
	cfg.Executor.TES.Image = "engines:1"
	r := runApp(t, cfg, Roles{API: true, Worker: true}, newLogTap().logger())
	r.untilReady(t)
	body := r.untilReadyz(t, "executor tes failing", func(st int, f []string) bool {
		return st == http.StatusServiceUnavailable && slices.Equal(f, []string{"executor tes"})
	})
	if strings.Contains(body, gone) {
		t.Errorf("/readyz names the TES address: %s", body)
	}
}
