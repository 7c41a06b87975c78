package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// tap is a slog.Handler that forwards records to next (when next wants them) and keeps,
// per run, the times of the two log lines that split a start step in parts: the
// queue's "step done" (task run:start, with its duration "took") and the local
// executor's "job submitted" (logged once the shim's launch stage has returned). They
// are diagnostics only: if another package renames them the breakdown reads "n/a" and
// every other figure stands.
type tap struct {
	next slog.Handler
	st   *tapState
}

type tapState struct {
	mu        sync.Mutex
	stepStart map[string]time.Time // run id → when its start step began
	stepTook  map[string]time.Duration
	launched  map[string]time.Time // run id → when the shim's launch stage returned
}

func newTap(next slog.Handler) *tap {
	return &tap{next: next, st: &tapState{
		stepStart: map[string]time.Time{}, stepTook: map[string]time.Duration{}, launched: map[string]time.Time{},
	}}
}

// Enabled is true for debug records too: "step done" is one. Only the worker app's
// logger is a tap, so the API benchmarks never pay for building debug records.
func (t *tap) Enabled(context.Context, slog.Level) bool { return true }

func (t *tap) Handle(ctx context.Context, r slog.Record) error {
	switch r.Message {
	case "step done":
		var task, id string
		var took time.Duration
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "task":
				task = a.Value.String()
			case "run_id":
				id = a.Value.String()
			case "took":
				took = a.Value.Duration()
			}
			return true
		})
		if task == "run:start" && id != "" {
			t.st.mu.Lock()
			t.st.stepStart[id], t.st.stepTook[id] = r.Time.Add(-took), took
			t.st.mu.Unlock()
		}
	case "job submitted":
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "job_id" {
				t.st.mu.Lock()
				t.st.launched[a.Value.String()] = r.Time
				t.st.mu.Unlock()
			}
			return true
		})
	}
	if t.next.Enabled(ctx, r.Level) {
		return t.next.Handle(ctx, r)
	}
	return nil
}

func (t *tap) WithAttrs(as []slog.Attr) slog.Handler {
	return &tap{next: t.next.WithAttrs(as), st: t.st}
}

func (t *tap) WithGroup(name string) slog.Handler {
	return &tap{next: t.next.WithGroup(name), st: t.st}
}

// breakdown splits one run's CreatedAt → StartTime into queue wait, the start step up to
// the shim's launch, and the wait for the shim to start the job plus the final store
// update. ok is false when the log lines were not seen.
func (st *tapState) breakdown(id string, created, started time.Time) (queue, launch, adopt time.Duration, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok1 := st.stepStart[id]
	l, ok2 := st.launched[id]
	if !ok1 || !ok2 || started.IsZero() {
		return 0, 0, 0, false
	}
	return s.Sub(created), l.Sub(s), started.Sub(l), true
}
