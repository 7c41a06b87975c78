package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// results is everything one bench run measured; it is also the final JSON line.
type results struct {
	CPUs      int             `json:"cpus"`
	Conns     int             `json:"connections"`
	Baseline  *summary        `json:"baseline_get,omitempty"`
	StatusGet *summary        `json:"enclave_status_get,omitempty"`
	RateRatio float64         `json:"status_rate_ratio,omitempty"`
	P50Ratio  float64         `json:"status_p50_ratio,omitempty"`
	P99Ratio  float64         `json:"status_p99_ratio,omitempty"`
	CPURatio  float64         `json:"status_cpu_per_req_ratio,omitempty"`
	Wrk       *wrkResults     `json:"wrk,omitempty"`
	LoadAvg   string          `json:"loadavg_at_start"`
	Submit    *summary        `json:"submit,omitempty"`
	Latency   *latencyResult  `json:"submit_to_running,omitempty"`
	Reconcile *reconcileRes   `json:"reconcile,omitempty"`
	Targets   map[string]bool `json:"targets_met"`
	Errors    []string        `json:"errors,omitempty"`
	// Skipped names each phase that was asked for and could not run, and why.
	Skipped []string `json:"skipped,omitempty"`
}

// Targets the figures are reported against (not asserted: the bench exits 0 either way).
const (
	targetRateRatio  = 0.8
	targetSubmitRate = 2000
	targetRunningP50 = 100 // ms
)

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

type table struct {
	w    io.Writer
	rows [][4]string
}

func (t *table) row(figure, value, target, result string) {
	t.rows = append(t.rows, [4]string{figure, value, target, result})
}

func (t *table) print() {
	header := [4]string{"figure", "value", "target", "result"}
	width := [4]int{}
	for _, r := range append([][4]string{header}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(r [4]string) {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < 3 {
				b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))+2))
			}
		}
		fmt.Fprintln(t.w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	line([4]string{strings.Repeat("-", width[0]), strings.Repeat("-", width[1]), strings.Repeat("-", width[2]), strings.Repeat("-", width[3])})
	for _, r := range t.rows {
		line(r)
	}
}

// reportWrk adds the wrk phase's rows.
func reportWrk(t *table, r *results, w *wrkResults, lat, cpu func(*summary) string) {
	b, s := &w.Baseline, &w.StatusGet
	src := fmt.Sprintf("wrk -t%d -c%d", w.Threads, r.Conns)
	t.row("baseline GET req/s, "+src, fmt.Sprintf("%.0f", b.Rate), "", "")
	t.row("  p50 / p99 (median of rounds)", lat(b), "", "")
	t.row("  CPU: this process (servers only); Redis", cpu(b), "", "")
	t.row("Enclave GET /runs/{id}/status req/s, "+src, fmt.Sprintf("%.0f", s.Rate), "", "")
	t.row("  p50 / p99 (median of rounds)", lat(s), "", "")
	t.row("  CPU: this process (servers only); Redis", cpu(s), "", "")
	ok := w.RateRatio >= targetRateRatio
	r.Targets["wrk_status_rate_ratio"] = ok
	t.row("  req/s ratio to baseline (headline)", fmt.Sprintf("%.3f", w.RateRatio), fmt.Sprintf(">= %.2f", targetRateRatio), verdict(ok))
	rounds := make([]string, len(w.RoundRatios))
	for i, v := range w.RoundRatios {
		rounds[i] = fmt.Sprintf("%.2f", v)
	}
	t.row("  ratio per round (median)", fmt.Sprintf("%s (%.3f)", strings.Join(rounds, " "), w.MedianRatio), "", "")
	t.row("  CPU per request ratio (Enclave / baseline)", fmt.Sprintf("%.2f", w.CPURatio), "", "")
	bad := s.Non200 + b.Non200 + w.SocketErrors
	ok = bad == 0
	r.Targets["wrk_all_200"] = ok
	t.row("  non-2xx responses and socket errors (both servers)", fmt.Sprintf("%d of %d", bad, s.Total+b.Total), "0", verdict(ok))
}

// report prints the table and then one JSON line (prefixed BENCH_JSON) with every figure.
func report(w io.Writer, r *results) {
	r.Targets = map[string]bool{}
	t := &table{w: w}
	lat := func(s *summary) string { return fmt.Sprintf("%.2f / %.2f ms", s.P50ms, s.P99ms) }
	cpu := func(s *summary) string {
		return fmt.Sprintf("%.0f us/req (%.2f cores); Redis %.0f us/req", s.CPUus, s.Cores, s.RedisCPUus)
	}
	if b := r.Baseline; b != nil {
		t.row("baseline GET (bare gin + 1 Redis GET) req/s", fmt.Sprintf("%.0f", b.Rate), "", "")
		t.row("  p50 / p99", lat(b), "", "")
		t.row("  CPU: this process (server + load gen); Redis", cpu(b), "", "")
	}
	if s := r.StatusGet; s != nil {
		t.row("Enclave GET /runs/{id}/status req/s", fmt.Sprintf("%.0f", s.Rate), "", "")
		t.row("  p50 / p99", lat(s), "", "")
		t.row("  CPU: this process (server + load gen); Redis", cpu(s), "", "")
		if r.Baseline != nil {
			ok := r.RateRatio >= targetRateRatio
			r.Targets["status_rate_ratio"] = ok
			t.row("  req/s ratio to baseline (headline)", fmt.Sprintf("%.3f", r.RateRatio), fmt.Sprintf(">= %.2f", targetRateRatio), verdict(ok))
			t.row("  p50 ratio / p99 ratio", fmt.Sprintf("%.2f / %.2f", r.P50Ratio, r.P99Ratio), "", "")
			t.row("  CPU per request ratio (Enclave / baseline)", fmt.Sprintf("%.2f", r.CPURatio), "", "")
		}
		bad, total := s.Non200, s.Total
		if b := r.Baseline; b != nil {
			bad, total = bad+b.Non200, total+b.Total
		}
		t.row("  non-200 responses (both servers)", fmt.Sprintf("%d of %d", bad, total), "0", verdict(bad == 0))
	}
	if w := r.Wrk; w != nil {
		reportWrk(t, r, w, lat, cpu)
	}
	if s := r.Submit; s != nil {
		ok := s.Rate >= targetSubmitRate
		r.Targets["submit_rate"] = ok
		t.row("POST /runs accepted/s (API only)", fmt.Sprintf("%.0f", s.Rate), fmt.Sprintf(">= %d", targetSubmitRate), verdict(ok))
		t.row("  p50 / p99", lat(s), "", "")
		t.row("  CPU: this process (server + load gen); Redis", cpu(s), "", "")
		ok = s.Non200 == 0
		r.Targets["submit_all_200"] = ok
		t.row("  non-200 responses", fmt.Sprintf("%d of %d", s.Non200, s.Total), "0", verdict(ok))
	}
	if l := r.Latency; l != nil {
		ok := l.Failed == 0 && l.ClientP50ms < targetRunningP50
		r.Targets["running_p50"] = ok
		t.row(fmt.Sprintf("submit -> RUNNING p50, client (%d runs @ %.0f/s)", l.Runs, l.Rate),
			fmt.Sprintf("%.1f ms", l.ClientP50ms), fmt.Sprintf("< %d ms", targetRunningP50), verdict(ok))
		t.row("  p99, client", fmt.Sprintf("%.1f ms", l.ClientP99ms), "", "")
		t.row("  p50 / p99, server (StartTime - CreatedAt)", fmt.Sprintf("%.1f / %.1f ms", l.ServerP50ms, l.ServerP99ms), "", "")
		if l.Breakdowns > 0 {
			t.row(fmt.Sprintf("  server p50s: queue wait / step to shim launch / shim start (%d runs)", l.Breakdowns),
				fmt.Sprintf("%.1f / %.1f / %.1f ms", l.QueueP50ms, l.LaunchP50ms, l.AdoptP50ms), "", "")
		}
		t.row("  runs not seen RUNNING", fmt.Sprintf("%d of %d", l.Failed, l.Runs), "0", verdict(l.Failed == 0))
		t.row("  final states after clean-up", fmt.Sprint(l.Final), "", "")
	}
	reportReconcile(t, r)
	t.print()
	fmt.Fprintf(w, "load average at start: %s (this machine's CPUs are shared; req/s and latencies move with it, CPU per request much less)\n", r.LoadAvg)
	for _, s := range r.Skipped {
		fmt.Fprintln(w, "skipped:", s)
	}
	for _, e := range r.Errors {
		fmt.Fprintln(w, "error:", e)
	}
	if r.Latency != nil && r.Latency.FirstError != "" {
		fmt.Fprintln(w, "first latency error:", r.Latency.FirstError)
	}
	b, _ := json.Marshal(r)
	fmt.Fprintf(w, "BENCH_JSON %s\n", b)
}
