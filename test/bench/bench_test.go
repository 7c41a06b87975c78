package main

import (
	"context"
	"log/slog"
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
