package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/notify"
)

// TestRunEndNotifiesWebhook: a server configured with a webhook (its secret in a file)
// posts the run's terminal CloudEvent, signed with that secret, when a run ends.
func TestRunEndNotifiesWebhook(t *testing.T) {
	cfg := testConfig(t, redisAddr(t))
	t.Cleanup(func() {
		wipe(t, cfg)
		rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr})
		defer rdb.Close()
		if keys, err := rdb.Keys(t.Context(), "asynq:{"+cfg.Redis.Queue+"-notify}*").Result(); err == nil && len(keys) > 0 {
			rdb.Del(t.Context(), keys...)
		}
		rdb.SRem(t.Context(), "asynq:queues", cfg.Redis.Queue+"-notify")
	})
	cfg.Executor.Local.Confinement = "off" // the engine is a script of the test
	secret := "app-test-secret-0123456789"
	secretFile := filepath.Join(t.TempDir(), "hook-secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	defer srv.Close()
	cfg.Notify.AllowHTTPLoopback = true
	cfg.Notify.Webhooks = config.Webhooks{{URL: srv.URL, SecretFile: secretFile, Events: []string{"run.terminal"}}}
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
	deadline := time.Now().Add(startupDeadline)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no webhook within %s; run %s is %s", startupDeadline, v.RunID, r.state(t, v.RunID))
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
	mu.Lock()
	req, b := got[0], bodies[0]
	mu.Unlock()
	if err := notify.Verify([]byte(secret), req.Header.Get(notify.HeaderSignature), req.Header.Get(notify.HeaderTimestamp), b,
		time.Now(), notify.DefaultTolerance); err != nil {
		t.Errorf("the delivery does not verify with the configured secret: %v", err)
	}
	var ev notify.CloudEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != notify.TypePrefix+"run.terminal" || ev.Subject != v.RunID || ev.Data.State != r.state(t, v.RunID) {
		t.Errorf("event %+v; run %s is %s", ev, v.RunID, r.state(t, v.RunID))
	}
}
