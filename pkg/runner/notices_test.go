package runner_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/notify"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

// hookEvents is a webhook receiver collecting the CloudEvents it is sent.
type hookEvents struct {
	mu  sync.Mutex
	evs []notify.CloudEvent
}

func (h *hookEvents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var ev notify.CloudEvent
	if err := json.Unmarshal(b, &ev); err == nil {
		h.mu.Lock()
		h.evs = append(h.evs, ev)
		h.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookEvents) all() []notify.CloudEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notify.CloudEvent(nil), h.evs...)
}

// withWebhook gives the runner a real Notifier, with a running delivery Worker on the
// test Redis, posting to a receiver in the test; it returns the receiver and a function
// waiting until the notification queue is idle.
func withWebhook(t *testing.T) (envOption, *hookEvents, func()) {
	h := &hookEvents{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	opt := asynq.RedisClientOpt{Addr: testutil.RedisAddr(t)}
	cfg := notify.Config{AllowHTTPLoopback: true, Queue: testutil.UniqueName("notify-runner-"), PollInterval: 20 * time.Millisecond,
		Webhooks: []notify.Webhook{{URL: srv.URL, Secret: []byte("0123456789abcdef0123")}}}
	n, err := notify.New(opt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	w, err := notify.NewWorker(opt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Shutdown)
	ins := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = ins.Close() })
	idle := func() {
		eventually(t, 10*time.Second, "an idle notification queue", func() bool {
			q, err := ins.GetQueueInfo(cfg.Queue)
			return err == nil && q.Pending+q.Active+q.Scheduled+q.Retry == 0
		})
	}
	return withConfig(func(c *runner.Config) { c.Notify = n }), h, idle
}

// TestNoticeSurvivesCrash kills the finalize step after it stored the terminal state
// (before it queued the notice) and after it queued the notice (before it removed it
// from the outbox): either way the receiver gets the run.terminal event exactly once,
// with the id the step gave it.
func TestNoticeSurvivesCrash(t *testing.T) {
	for _, point := range []string{"finalize:stored", "effect:notify"} {
		t.Run(point, func(t *testing.T) {
			opt, hook, idle := withWebhook(t)
			e := newEnv(t, opt)
			ctx := t.Context()
			id := e.newRun(t, []string{"fake", "sleep=1m"})
			if err := e.r.Start(ctx, id); err != nil {
				t.Fatal(err)
			}
			e.clock.advance(2 * time.Minute)
			failpoint, hit := crashAt(point)
			survive(t, func() error { return e.newRunner(t, failpoint).Finalize(ctx, id) })
			if !hit() {
				t.Fatalf("finalize never reached %s", point)
			}
			var stored string
			for _, ef := range e.get(t, id).Effects {
				if ef.Kind == wes.EffectNotify {
					stored = ef.Notice.ID
				}
			}
			if stored == "" {
				t.Fatal("the notice is not in the run's outbox after the crash")
			}
			e.clock.advance(runner.EffectGrace + time.Second)
			if err := e.newRunner(t, nil).Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			if fx := e.get(t, id).Effects; len(fx) != 0 {
				t.Errorf("outbox still holds %+v", fx)
			}
			eventually(t, 10*time.Second, "the webhook", func() bool { return len(hook.all()) > 0 })
			idle()
			evs := hook.all()
			if len(evs) != 1 {
				t.Fatalf("%d events, want exactly 1: %+v", len(evs), evs)
			}
			ev := evs[0]
			if ev.ID != stored || ev.Type != notify.TypePrefix+wes.NoticeRunTerminal || ev.Subject != id ||
				ev.Data.State != string(wes.StateComplete) || ev.Data.RunID != id {
				t.Errorf("event %+v, want run.terminal %s COMPLETE with id %s", ev, id, stored)
			}
		})
	}
}

// TestNoticesOfASealedEnd: a sealed run ending COMPLETE tells of what it holds for
// review and of what it released; one that ends otherwise only of its end.
func TestNoticesOfASealedEnd(t *testing.T) {
	opt, _, _ := withWebhook(t)
	e := newEnv(t, opt)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	run := &wes.Run{ID: "r1", Owner: "alice", OwnerEmail: "alice@example.org", Workflow: "wf", State: wes.StateComplete,
		Released: []wes.Output{{Path: "a.csv", Status: wes.OutputPending}, {Path: "b.csv", Status: wes.OutputPending},
			{Path: "c.csv", Status: wes.OutputReleased}}}
	ids := runner.AddNotices(e.r, run, 7, now)
	want := []string{"7-notify-run.terminal", "7-notify-outputs.pending_review", "7-notify-output.released"}
	if len(ids) != len(want) {
		t.Fatalf("notices %v, want %v", ids, want)
	}
	for i, ef := range run.Effects {
		n := ef.Notice
		if ids[i] != want[i] || ef.Kind != wes.EffectNotify || n.ID != "r1/"+want[i] || !n.Time.Equal(now) ||
			n.Outputs[wes.OutputPending] != 2 || n.Outputs[wes.OutputReleased] != 1 || n.OwnerEmail != "alice@example.org" {
			t.Errorf("notice %d: %s %+v", i, ids[i], n)
		}
	}
	run = &wes.Run{ID: "r2", State: wes.StateSystemError, Released: []wes.Output{{Path: "a.csv", Status: wes.OutputPending}}}
	if ids := runner.AddNotices(e.r, run, 3, now); len(ids) != 1 || ids[0] != "3-notify-run.terminal" {
		t.Errorf("notices of a failed run: %v", ids)
	}
	run = &wes.Run{ID: "r3", State: wes.StateRunning}
	if ids := runner.AddNotices(e.r, run, 3, now); len(ids) != 0 {
		t.Errorf("notices of a running run: %v", ids)
	}
}

// TestDeleteForgetsOwnerEmail: erasing a run's files also drops the owner's address the
// run kept for mailing them.
func TestDeleteForgetsOwnerEmail(t *testing.T) {
	e := newEnv(t)
	id := e.newRun(t, []string{"fake"}, func(r *wes.Run) { r.State, r.OwnerEmail = wes.StateComplete, "alice@example.org" })
	if err := runner.DeleteRunFiles(t.Context(), e.store, nil, e.dataDir, e.get(t, id), "alice"); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, id).OwnerEmail; got != "" {
		t.Errorf("the deleted run keeps the owner's address %q", got)
	}
}
