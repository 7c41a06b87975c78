package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100", ms(1, 2, 3), 100, 3 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(p%.0f) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

// The tap reads the worker's "step done" and the executor's "job submitted" lines, also
// through loggers made With attributes, and splits a run's start in three.
func TestTapBreakdown(t *testing.T) {
	tp := newTap(slog.DiscardHandler)
	log := slog.New(tp).With("component", "worker")
	created := time.Now()
	log.Info("job submitted", "job_id", "r1")
	log.Debug("step done", "task", "run:start", "run_id", "r1", "took", 30*time.Millisecond)
	log.Debug("step done", "task", "run:cancel", "run_id", "r2", "took", time.Millisecond)

	q, l, a, ok := tp.st.breakdown("r1", created.Add(-50*time.Millisecond), created.Add(40*time.Millisecond))
	if !ok {
		t.Fatal("no breakdown for r1")
	}
	if q <= 0 || l < -5*time.Millisecond || a <= 0 || q+l+a != 90*time.Millisecond {
		t.Errorf("breakdown = %v / %v / %v, want parts summing to 90ms", q, l, a)
	}
	if _, _, _, ok := tp.st.breakdown("r2", created, created); ok {
		t.Error("a cancel step gave a start breakdown")
	}
	if !tp.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("the tap must see debug records")
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 2s test @ http://127.0.0.1:18777/status/x
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.70ms    5.60ms  47.97ms   95.80%
    Req/Sec   694.80    129.31     0.94k    80.00%
  Latency Distribution
     50%  812.00us
     75%    4.09ms
     90%    6.03ms
     99%    1.02s
  24692 requests in 2.00s, 351.59KB read
  Socket errors: connect 0, read 2, write 1, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  12346.00
Transfer/sec:    350.98KB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.requests != 24692 || r.seconds != 2 || r.p50 != 812*time.Microsecond || r.p99 != 1020*time.Millisecond ||
		r.non2xx != 7 || r.socketErrors != 6 || r.rate() != 12346 {
		t.Errorf("parseWrk = %+v", r)
	}
	if _, err := parseWrk("wrk: unknown option --latency\n"); err == nil {
		t.Error("parseWrk took output without figures")
	}
}

// Without wrk the phase is skipped, and the report says so and why.
func TestWrkMissingIsReported(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := wrkPath()
	if err == nil || !strings.Contains(err.Error(), "scripts/setup.sh") {
		t.Fatalf("wrkPath without wrk: %v", err)
	}
	var b strings.Builder
	report(&b, &results{Skipped: []string{"wrk GET phase: " + err.Error()}})
	if !strings.Contains(b.String(), "skipped: wrk GET phase: wrk is not installed") {
		t.Errorf("report:\n%s", b.String())
	}
}
