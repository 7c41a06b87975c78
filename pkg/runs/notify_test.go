package runs

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/notify"
	"github.com/spe4hd/enclave/pkg/wes"
)

// notifyEnv is a testEnv whose service notifies a webhook receiver in the test through a
// real Notifier and delivery Worker on the test Redis.
func notifyEnv(t *testing.T, smtp *notify.SMTP, edit ...func(*Deps)) (*testEnv, func() []notify.CloudEvent) {
	t.Helper()
	var mu sync.Mutex
	var evs []notify.CloudEvent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev notify.CloudEvent
		if json.Unmarshal(b, &ev) == nil {
			mu.Lock()
			evs = append(evs, ev)
			mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	opt := asynq.RedisClientOpt{Addr: testutil.RedisAddr(t)}
	cfg := notify.Config{AllowHTTPLoopback: true, Queue: testutil.UniqueName("notify-runs-"), PollInterval: 20 * time.Millisecond,
		Webhooks: []notify.Webhook{{URL: srv.URL, Secret: []byte("0123456789abcdef0123")}}, SMTP: smtp}
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
	e := newTestEnv(t, append(edit, func(d *Deps) { d.Notify = n })...)
	return e, func() []notify.CloudEvent { mu.Lock(); defer mu.Unlock(); return slices.Clone(evs) }
}

// decide stores a review decision on run id as Review does, with its notices.
func decide(t *testing.T, e *testEnv, id string) *wes.Run {
	t.Helper()
	r, err := e.store.Update(t.Context(), id, func(cur *wes.Run) error {
		cur.Released[0].Status = wes.OutputReleased
		cur.Released[1].Status = wes.OutputRejected
		e.s.notify(cur, wes.NoticeReviewDecided, Approve)
		e.s.notify(cur, wes.NoticeOutputReleased, "")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func heldRun(t *testing.T, e *testEnv) string {
	t.Helper()
	id := testutil.UniqueName("run-")
	r := &wes.Run{ID: id, Owner: "alice", State: wes.StateComplete, Workflow: "wf", CreatedAt: time.Now(),
		Released: []wes.Output{{Path: "patient_1234.csv", Size: 987654321, SHA256: "5ec0ffee5ec0ffee", Status: wes.OutputPending},
			{Path: "b.csv", Status: wes.OutputPending}}}
	if err := e.store.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestReviewNoticesSent: a decision's notices are sent at once, carry the decision and
// the counts but no file name, and leave the outbox.
func TestReviewNoticesSent(t *testing.T) {
	e, events := notifyEnv(t, nil)
	id := heldRun(t, e)
	e.s.sendNotices(t.Context(), decide(t, e, id))
	if cur, err := e.store.Get(t.Context(), id); err != nil || len(cur.Effects) != 0 {
		fx := any(err)
		if err == nil {
			fx = cur.Effects
		}
		t.Errorf("sent notices stay in the outbox: %+v", fx)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(events()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	evs := events()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2: %+v", len(evs), evs)
	}
	slices.SortFunc(evs, func(a, b notify.CloudEvent) int { return strings.Compare(b.Type, a.Type) }) // review.decided first
	if d := evs[0].Data; evs[0].Type != notify.TypePrefix+wes.NoticeReviewDecided || d.Decision != Approve ||
		d.Outputs[wes.OutputReleased] != 1 || d.Outputs[wes.OutputRejected] != 1 || d.RunID != id {
		t.Errorf("review.decided event: %+v", evs[0])
	}
	if evs[1].Type != notify.TypePrefix+wes.NoticeOutputReleased {
		t.Errorf("output.released event: %+v", evs[1])
	}
	for _, ev := range evs {
		b, _ := json.Marshal(ev)
		for _, leak := range []string{"patient_1234", "5ec0ffee", "987654321", "size", "sha256", "alice"} {
			if strings.Contains(string(b), leak) {
				t.Errorf("an event tells %s: %s", leak, b)
			}
		}
	}
}

// TestReviewNoticeSurvivesServerDeath: when the server dies after storing the decision
// (sendNotices never runs), the notice is in the outbox, due, and the run is listed for
// the reconciler, which sends what it finds there (pkg/runner TestNoticeSurvivesCrash).
func TestReviewNoticeSurvivesServerDeath(t *testing.T) {
	e, _ := notifyEnv(t, nil)
	id := heldRun(t, e)
	r := decide(t, e, id)
	var kinds []string
	for _, fx := range r.Effects {
		if fx.Kind == wes.EffectNotify && !fx.NotBefore.After(time.Now()) {
			kinds = append(kinds, fx.Notice.Kind)
		}
	}
	if !slices.Equal(kinds, []string{wes.NoticeReviewDecided, wes.NoticeOutputReleased}) {
		t.Errorf("due notices in the outbox: %v", kinds)
	}
	pending, err := e.store.Pending(t.Context())
	if err != nil || !slices.Contains(pending, id) {
		t.Errorf("the reconciler's list of runs with effects: %v, %v; want %s in it", pending, err, id)
	}
}

// TestOwnerEmailKeptOnlyWhenMailed: the owner's address is stored on the run only when
// owners are mailed.
func TestOwnerEmailKeptOnlyWhenMailed(t *testing.T) {
	p := &wes.Principal{Subject: "alice", Email: "alice@example.org"}
	e, _ := notifyEnv(t, nil)
	if got := e.s.ownerEmail(p); got != "" {
		t.Errorf("address kept without mail: %q", got)
	}
	e, _ = notifyEnv(t, &notify.SMTP{Host: "127.0.0.1", From: "enclave@example.org"})
	if got := e.s.ownerEmail(p); got != p.Email {
		t.Errorf("address kept with mail: %q, want %q", got, p.Email)
	}
}
