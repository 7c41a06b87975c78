package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/wes"
)

// The Sentinel set-up of scripts/sentinel.sh, which `make test` starts.
const (
	sentinelAddrsEnv  = "ENCLAVE_TEST_SENTINEL_ADDRS"
	sentinelMasterEnv = "ENCLAVE_TEST_SENTINEL_MASTER"
	failoverDeadline  = 120 * time.Second // a whole failover and every run's end, on a shared machine
)

// sentinelEnv returns the Sentinels' addresses and master name, or skips the test (fails it
// under CI) when scripts/sentinel.sh did not start them.
func sentinelEnv(t *testing.T) ([]string, string) {
	t.Helper()
	addrs, master := os.Getenv(sentinelAddrsEnv), os.Getenv(sentinelMasterEnv)
	if addrs == "" || master == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s and %s are required under CI (scripts/test-services.sh sets them)", sentinelAddrsEnv, sentinelMasterEnv)
		}
		t.Skipf("SKIP: no Redis Sentinel (%s; scripts/test-services.sh or scripts/sentinel.sh start it)", sentinelAddrsEnv)
	}
	return strings.Split(addrs, ","), master
}

// The whole server and worker (API, asynq worker, reconciler, local executor) run against
// a primary found through three Sentinels. With runs running, finishing and queued, the
// primary is killed (SIGKILL); the Sentinels promote the replica, and every run still
// reaches exactly one terminal state: its run.state audit event with a terminal state is
// recorded once, no run is lost, no engine is started twice, and runs submitted after
// the failover complete too.
func TestSentinelFailover(t *testing.T) {
	addrs, master := sentinelEnv(t)
	ctx := context.Background()
	primary := waitSentinelHealthy(t, addrs, master)

	cfg := testConfig(t, "")
	cfg.Redis.Sentinel = config.RedisSentinelConfig{MasterName: master, Addrs: addrs}
	dir := t.TempDir()
	started, gate := filepath.Join(dir, "started"), filepath.Join(dir, "gate")
	// The engine notes its run and waits for the gate, so the test chooses when the runs end.
	cfg.Engines.Snakemake.Binary = script(t, dir, "snakemake", `[ "$1" = --version ] && { echo 7.32.4; exit 0; }
basename "$(dirname "$PWD")" >> "`+started+`"
while [ ! -e "`+gate+`" ]; do sleep 0.05; done`)
	cfg.Executor.Local.Confinement = "off" // the script and its notes live in the test's dirs
	cfg.Executor.Local.MaxRunning = 8      // of 10 runs, 2 wait in QUEUED through the failover

	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: master, SentinelAddrs: addrs})
	t.Cleanup(func() { wipeUniversal(t, rdb, cfg); _ = rdb.Close() })
	log := newLogTap()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server's log:\n%s", log)
		}
	})
	r := runApp(t, cfg, Roles{API: true, Worker: true}, log.logger())
	r.untilReady(t)

	var ids []string
	for range 10 {
		ids = append(ids, r.submitRun(t, failoverDeadline))
	}
	until(t, "8 engines started", func() bool { return len(lines(t, started)) >= 8 })

	// Kill the primary while runs end: its pid and config file come from INFO server.
	pid, conf := redisProcess(t, primary)
	touch(t, gate)
	until(t, "a run COMPLETE", func() bool {
		for _, id := range ids {
			if st, _ := r.runState(t, id); st == "COMPLETE" {
				return true
			}
		}
		return false
	})
	// Runs are submitted without pause across the kill: one the old primary accepted
	// but had not passed to the replica would be lost (replication is asynchronous).
	stopSubmitting := make(chan struct{})
	accepted := r.submitUntil(stopSubmitting)
	until(t, "a run accepted by the submitter", func() bool { return len(accepted.ids()) > 0 })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the primary (pid %d): %v", pid, err)
	}
	killed := time.Now()
	// Started again at the end, the old primary becomes a replica of the new one, so the
	// set-up serves the next test.
	t.Cleanup(func() {
		if out, err := exec.Command("redis-server", conf).CombinedOutput(); err != nil {
			t.Errorf("restarting the old primary: %v: %s", err, out)
		}
	})
	var promoted string
	until(t, "the Sentinels to promote the replica", func() bool {
		promoted = masterAddr(ctx, addrs[0], master)
		return promoted != "" && promoted != primary
	})
	failover := time.Since(killed)
	close(stopSubmitting)
	during := accepted.wait()
	ids = append(ids, during...)

	// New runs are accepted on the new primary and complete too.
	for range 2 {
		ids = append(ids, r.submitRun(t, failoverDeadline))
	}
	states := map[string]string{}
	until(t, "every run to end", func() bool {
		for _, id := range ids {
			st, code := r.runState(t, id)
			states[id] = st
			if code == http.StatusNotFound {
				states[id] = "LOST"
			} else if !wes.State(st).Terminal() {
				return false
			}
		}
		return true
	})
	// A state change's side effects (its audit event first) live in the run's outbox until
	// done; those the failover interrupted are done again by the reconciler.
	until(t, "every run's outbox to drain", func() bool {
		n, err := rdb.SCard(ctx, cfg.Redis.KeyPrefix+"effects").Result()
		return err == nil && n == 0
	})
	settled := time.Since(killed)

	lost, complete := 0, 0
	for _, id := range ids {
		switch states[id] {
		case "LOST":
			lost++
		case "COMPLETE":
			complete++
		}
	}
	if lost > 0 || complete != len(ids) {
		t.Errorf("after the failover: %d of %d runs lost, %d COMPLETE, states %v", lost, len(ids), complete, states)
	}
	repeats := 0
	for _, id := range ids {
		events := terminalEvents(t, r, id)
		if len(events) != 1 {
			t.Errorf("run %s (%s): terminal run.state audit events %v, want exactly one", id, states[id], events)
		}
		for _, n := range events {
			repeats += n - 1
		}
	}
	starts := map[string]int{}
	for _, id := range lines(t, started) {
		starts[id]++
	}
	for _, id := range ids {
		if starts[id] != 1 {
			t.Errorf("run %s: its engine started %d times, want once", id, starts[id])
		}
	}
	t.Logf("primary %s killed; Sentinels promoted %s after %s; all %d runs ended, side effects done, %s after the kill; "+
		"%d lost (%d of them submitted during the failover); %d terminal audit events recorded again (same event_id)",
		primary, promoted, failover.Round(time.Millisecond), len(ids), settled.Round(time.Millisecond), lost, len(during), repeats)
}

// submitter collects the ids of the runs the server accepted.
type submitter struct {
	mu   sync.Mutex
	got  []string
	done chan struct{}
}

func (s *submitter) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// wait returns the accepted ids once the submitter has stopped.
func (s *submitter) wait() []string {
	<-s.done
	return s.ids()
}

// submitUntil posts smkRun one after another until stop is closed, keeping the ids of
// those answered 200; refusals (503 while Redis fails over) are not runs.
func (r *running) submitUntil(stop <-chan struct{}) *submitter {
	s := &submitter{done: make(chan struct{})}
	hc := &http.Client{Timeout: 30 * time.Second}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ct, body := multipartRun(smkRun())
			resp, err := hc.Post("http://"+r.a.Addr()+"/ga4gh/wes/v1/runs", ct, body)
			if err != nil {
				time.Sleep(20 * time.Millisecond) // pacing retries, not synchronisation
				continue
			}
			var v struct {
				RunID string `json:"run_id"`
			}
			if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&v) == nil && v.RunID != "" {
				s.mu.Lock()
				s.got = append(s.got, v.RunID)
				s.mu.Unlock()
			} else {
				time.Sleep(20 * time.Millisecond) // pacing retries while refused, not synchronisation
			}
			resp.Body.Close()
		}
	}()
	return s
}

// multipartRun encodes f as a run request: its content type and body.
func multipartRun(f runForm) (string, io.Reader) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range f.fields {
		_ = mw.WriteField(k, v)
	}
	for name, content := range f.files {
		w, _ := mw.CreateFormFile("workflow_attachment", name)
		_, _ = io.WriteString(w, content)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), &b
}

// until polls cond until it holds, failing the test after failoverDeadline.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(failoverDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", failoverDeadline, what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// submitRun posts smkRun until the server accepts it (it answers 503 while Redis fails
// over) and returns the run's id.
func (r *running) submitRun(t *testing.T, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, body, _ := r.submit(t, smkRun())
		if st == http.StatusOK {
			var v struct {
				RunID string `json:"run_id"`
			}
			if err := json.Unmarshal([]byte(body), &v); err != nil || v.RunID == "" {
				t.Fatalf("submit: %s", body)
			}
			return v.RunID
		}
		if st != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("submit: %d %s", st, body)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// runState is a run's WES state and the status code of asking (503 while Redis fails over).
func (r *running) runState(t *testing.T, id string) (string, int) {
	t.Helper()
	code, body, _ := r.get(t, "/ga4gh/wes/v1/runs/"+id+"/status")
	var v struct {
		State string `json:"state"`
	}
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("status of %s: %s", id, body)
		}
	}
	return v.State, code
}

// terminalEvents counts the run.state audit events of run id with a terminal state, by
// their state and event_id. A state change's event is recorded at least once: when the
// failover interrupts the removal of a recorded event from the run's outbox, the event is
// recorded again with the same event_id (pkg/runner/effects.go), which a reader tells
// from a second change. Two keys here are two terminal state changes.
func terminalEvents(t *testing.T, r *running, id string) map[string]int {
	t.Helper()
	n := map[string]int{}
	f := wes.AuditFilter{RunID: id, Action: "run.state", Limit: 1000}
	for {
		p, err := r.a.zone.audit.Query(context.Background(), f)
		if err != nil {
			t.Fatalf("audit query: %v", err)
		}
		for _, e := range p.Entries {
			if st := e.Event.Detail["state"]; wes.State(st).Terminal() {
				n[st+" "+e.Event.Detail["event_id"]]++
			}
		}
		if p.Next == "" {
			return n
		}
		f.Cursor = p.Next
	}
}

// waitSentinelHealthy waits until every Sentinel names the same primary, which has a
// replica in sync and no failover going on, and returns the primary's address: a
// previous test's failover may still be settling.
func waitSentinelHealthy(t *testing.T, addrs []string, master string) string {
	t.Helper()
	ctx := context.Background()
	var primary, why string
	deadline := time.Now().Add(failoverDeadline)
	for {
		primary, why = sentinelState(ctx, addrs, master)
		if why == "" {
			return primary
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Sentinel set-up is not healthy after %s: %s", failoverDeadline, why)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

// sentinelState returns the primary and "" when the set-up is healthy, or why it is not.
func sentinelState(ctx context.Context, addrs []string, master string) (string, string) {
	primary := ""
	for _, a := range addrs {
		m := masterAddr(ctx, a, master)
		if m == "" || (primary != "" && m != primary) {
			return "", "the Sentinels do not agree on the primary"
		}
		primary = m
		s := redis.NewSentinelClient(&redis.Options{Addr: a})
		info, err := s.Master(ctx, master).Result()
		s.Close()
		if err != nil || info["flags"] != "master" || info["num-other-sentinels"] != "2" {
			return "", "sentinel " + a + " sees " + info["flags"] + " with " + info["num-other-sentinels"] + " other sentinels"
		}
	}
	c := redis.NewClient(&redis.Options{Addr: primary})
	defer c.Close()
	repl, err := c.Info(ctx, "replication").Result()
	if err != nil || !strings.Contains(repl, "role:master") || !strings.Contains(repl, "state=online") {
		return "", "the primary " + primary + " has no replica online"
	}
	return primary, ""
}

// masterAddr is the primary's host:port according to the Sentinel at addr, or "".
func masterAddr(ctx context.Context, addr, master string) string {
	s := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer s.Close()
	hp, err := s.GetMasterAddrByName(ctx, master).Result()
	if err != nil || len(hp) != 2 {
		return ""
	}
	return hp[0] + ":" + hp[1]
}

// redisProcess is the pid and config file of the redis-server at addr.
func redisProcess(t *testing.T, addr string) (int, string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	var conf string
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "process_id:"); ok {
			pid, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(l, "config_file:"); ok {
			conf = v
		}
	}
	if pid == 0 || conf == "" {
		t.Fatalf("INFO server of %s names no process_id or config_file", addr)
	}
	return pid, conf
}

// wipeUniversal removes cfg's keys and queue through c.
func wipeUniversal(t *testing.T, c redis.UniversalClient, cfg config.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, pattern := range []string{cfg.Redis.KeyPrefix + "*", "asynq:{" + cfg.Redis.Queue + "}*"} {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = c.Unlink(ctx, keys...).Err()
		}
	}
	_ = c.SRem(ctx, "asynq:queues", cfg.Redis.Queue).Err()
}
