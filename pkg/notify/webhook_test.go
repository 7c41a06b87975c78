package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/wes"
)

var secret = []byte("0123456789abcdef-test-secret")

// delivery is one request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a webhook receiver that fails its first failures requests with 503.
type receiver struct {
	mu       sync.Mutex
	got      []delivery
	failures int
	srv      *httptest.Server
}

func newReceiver(t *testing.T, failures int) *receiver {
	r := &receiver{failures: failures}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{req.Header.Clone(), b})
		fail := len(r.got) <= r.failures
		r.mu.Unlock()
		if fail {
			http.Error(w, strings.Repeat("x", 1<<20), http.StatusServiceUnavailable) // a big answer is not read whole
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func TestWebhookArrivesSignedAsCloudEvent(t *testing.T) {
	rcv := newReceiver(t, 0)
	n, _ := start(t, Config{Source: "urn:enclave:test", AllowHTTPLoopback: true,
		Webhooks: []Webhook{{URL: rcv.srv.URL + "/hook", Secret: secret, Events: []string{wes.NoticePendingReview}}}})

	// Subscribed to pending review only: the terminal notice is not sent.
	if err := n.Notify(ctx, notice(wes.NoticeRunTerminal)); err != nil {
		t.Fatal(err)
	}
	no := notice(wes.NoticePendingReview)
	if err := n.Notify(ctx, no); err != nil {
		t.Fatal(err)
	}
	// The same notice again (a step that died after queueing it): not delivered twice.
	if err := n.Notify(ctx, no); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the webhook delivery", 10*time.Second, func() bool { return len(rcv.deliveries()) > 0 })

	d := rcv.deliveries()[0]
	sig, ts := d.header.Get(HeaderSignature), d.header.Get(HeaderTimestamp)
	if err := Verify(secret, sig, ts, d.body, time.Now(), DefaultTolerance); err != nil {
		t.Fatalf("the receiver cannot verify the delivery: %v (signature %q, timestamp %q)", err, sig, ts)
	}
	if err := Verify([]byte("another-secret-of-16-bytes"), sig, ts, d.body, time.Now(), DefaultTolerance); err == nil {
		t.Error("a delivery verifies with the wrong secret")
	}
	tampered := []byte(strings.Replace(string(d.body), `"COMPLETE"`, `"CANCELED"`, 1))
	if err := Verify(secret, sig, ts, tampered, time.Now(), DefaultTolerance); err == nil {
		t.Error("a tampered body verifies")
	}
	if err := Verify(secret, sig, ts, d.body, time.Now().Add(time.Hour), DefaultTolerance); err == nil {
		t.Error("a delivery replayed an hour later verifies")
	}
	// A replay with a fresh timestamp header: the MAC covers the timestamp, so it fails.
	later := time.Now().Add(time.Hour)
	if err := Verify(secret, sig, strconv.FormatInt(later.Unix(), 10), d.body, later, DefaultTolerance); err == nil {
		t.Error("a delivery replayed with a new timestamp verifies")
	}
	if ct := d.header.Get("Content-Type"); ct != ContentType {
		t.Errorf("Content-Type = %q, want %q", ct, ContentType)
	}

	var ev map[string]any
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"specversion": "1.0", "id": no.ID, "source": "urn:enclave:test",
		"type": "org.spe4hd.enclave.outputs.pending_review", "subject": "run-1",
		"time": "2026-01-02T03:04:05Z", "datacontenttype": "application/json"}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("%s = %v, want %v", k, ev[k], v)
		}
	}
	data, _ := json.Marshal(ev["data"])
	if got := string(data); got != `{"outputs":{"pending":2},"run_id":"run-1","state":"COMPLETE","workflow":"cohort-counts"}` {
		t.Errorf("data = %s", got)
	}
	// Nothing about the owner leaves without include_owner: neither subject nor address.
	if s := string(d.body); strings.Contains(s, "alice") {
		t.Errorf("the event names the owner: %s", s)
	}

	// Only the one delivery, for all three Notify calls: a further one would have come
	// with the repeat, which was queued before the first was taken.
	if err := n.Notify(ctx, notice(wes.NoticeOutputReleased)); err != nil { // not subscribed either
		t.Fatal(err)
	}
	assertQueueEmpty(t, n)
	if got := len(rcv.deliveries()); got != 1 {
		t.Errorf("%d deliveries, want 1", got)
	}
}

// assertQueueEmpty waits until nothing is pending, scheduled, retrying or active on n's
// queue.
func assertQueueEmpty(t *testing.T, n *Notifier) {
	t.Helper()
	ins := asynq.NewInspector(asynq.RedisClientOpt{Addr: testutil.RedisAddr(t)})
	defer ins.Close()
	waitFor(t, "an idle queue", 10*time.Second, func() bool {
		q, err := ins.GetQueueInfo(n.cfg.Queue)
		return err == nil && q.Pending+q.Active+q.Scheduled+q.Retry == 0
	})
}

func TestWebhookRetriedThenDeadLettered(t *testing.T) {
	rcv := newReceiver(t, 1000) // always fails
	n, _ := start(t, Config{AllowHTTPLoopback: true, MaxRetry: 2, RetryBase: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond,
		Webhooks: []Webhook{{URL: rcv.srv.URL, Secret: secret}}})
	if err := n.Notify(ctx, notice(wes.NoticeRunTerminal)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dead-letter count", 20*time.Second, func() bool {
		c, err := n.DeadLetters(ctx)
		return err == nil && c == 1
	})
	// The first try and two retries, every one signed with the same event id.
	ds := rcv.deliveries()
	if len(ds) != 3 {
		t.Fatalf("%d attempts, want 3 (1 + max_retry 2)", len(ds))
	}
	for _, d := range ds {
		if !strings.Contains(string(d.body), `"id":"run-1/7-notify-run.terminal"`) {
			t.Errorf("a retry carries another event id: %s", d.body)
		}
	}
	ins := asynq.NewInspector(asynq.RedisClientOpt{Addr: testutil.RedisAddr(t)})
	defer ins.Close()
	waitFor(t, "the archived task", 10*time.Second, func() bool {
		q, err := ins.GetQueueInfo(n.cfg.Queue)
		return err == nil && q.Archived == 1
	})
	if c, _ := n.DeadLetters(ctx); c != 1 {
		t.Errorf("dead letters = %d, want 1", c)
	}
}

func TestWebhookRetriedUntilDelivered(t *testing.T) {
	rcv := newReceiver(t, 2)
	n, _ := start(t, Config{AllowHTTPLoopback: true, MaxRetry: 3, RetryBase: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond,
		Webhooks: []Webhook{{URL: rcv.srv.URL, Secret: secret}}})
	if err := n.Notify(ctx, notice(wes.NoticeRunTerminal)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the third attempt", 20*time.Second, func() bool { return len(rcv.deliveries()) == 3 })
	assertQueueEmpty(t, n)
	if c, _ := n.DeadLetters(ctx); c != 0 {
		t.Errorf("dead letters = %d after a delivery that arrived, want 0", c)
	}
	ds := rcv.deliveries()
	if ds[0].header.Get(HeaderDelivery) == "" || ds[0].header.Get(HeaderDelivery) != ds[2].header.Get(HeaderDelivery) {
		t.Errorf("the retries are not the same delivery: %q, %q", ds[0].header.Get(HeaderDelivery), ds[2].header.Get(HeaderDelivery))
	}
}

func TestWebhookRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	var asked atomic.Int32
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	n, _ := start(t, Config{AllowHTTPLoopback: true, MaxRetry: -1,
		Webhooks: []Webhook{{URL: redirector.URL, Secret: secret}}})
	if err := n.Notify(ctx, notice(wes.NoticeRunTerminal)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dead letter", 10*time.Second, func() bool { c, _ := n.DeadLetters(ctx); return c == 1 })
	if asked.Load() != 1 || elsewhere.Load() != 0 {
		t.Errorf("redirector asked %d times, its target %d times; want 1 and 0", asked.Load(), elsewhere.Load())
	}
}

func TestWebhookURLs(t *testing.T) {
	for _, c := range []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://hooks.example.org/x", false, true},
		{"http://hooks.example.org/x", false, false},
		{"http://hooks.example.org/x", true, false},
		{"http://127.0.0.1:9/x", false, false},
		{"http://127.0.0.1:9/x", true, true},
		{"http://[::1]:9/x", true, true},
		{"http://localhost:9/x", true, true},
		{"https://user:pw@hooks.example.org/x", false, false},
		{"ftp://hooks.example.org/x", true, false},
		{"/relative", true, false},
	} {
		if err := CheckURL(c.url, c.loopback); (err == nil) != c.ok {
			t.Errorf("CheckURL(%q, %v) = %v, want ok %v", c.url, c.loopback, err, c.ok)
		}
	}
	_, err := New(asynq.RedisClientOpt{Addr: "127.0.0.1:1"}, Config{Webhooks: []Webhook{{URL: "https://x.example.org", Secret: []byte("short")}}})
	if err == nil || !strings.Contains(err.Error(), "16 bytes") {
		t.Errorf("a short secret: %v", err)
	}
	_, err = New(asynq.RedisClientOpt{Addr: "127.0.0.1:1"}, Config{Webhooks: []Webhook{{URL: "https://x.example.org", Secret: secret, Events: []string{"run.done"}}}})
	if err == nil || !strings.Contains(err.Error(), `unknown event "run.done"`) {
		t.Errorf("an unknown event: %v", err)
	}
}
