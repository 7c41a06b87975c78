package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// postKeyed submits parts as user with Idempotency-Key key.
func (h *harness) postKeyed(user, key string, parts ...part) (int, []byte, http.Header) {
	h.t.Helper()
	ct, body := form(h.t, parts...)
	return h.doWith(http.MethodPost, BasePath+"/runs", user, ct, body, http.Header{IdempotencyHeader: {key}})
}

func runIDOf(t *testing.T, st int, b []byte) string {
	t.Helper()
	var id api.RunId
	if st != http.StatusOK || json.Unmarshal(b, &id) != nil || id.RunId == "" {
		t.Fatalf("want 200 with a run id, got %d %s", st, b)
	}
	return id.RunId
}

func (h *harness) runCount(owner string) int {
	h.t.Helper()
	p, err := h.store.List(context.Background(), wes.RunFilter{Owner: owner, PageSize: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	return len(p.Runs)
}

func TestIdempotencyKeySameRequestSameRun(t *testing.T) {
	h := newHarness(t)
	first := h.keyedRun("alice", "key-1", validRun(file("in.txt", "abc"))...)
	again := h.keyedRun("alice", "key-1", validRun(file("in.txt", "abc"))...)
	if again != first || h.runCount("alice") != 1 {
		t.Errorf("a repeated key made run %s after %s; alice has %d runs", again, first, h.runCount("alice"))
	}
	if dirs := h.runDirs(); len(dirs) != 1 {
		t.Errorf("the repeat left files behind: %v", dirs)
	}
	// Another owner's identical key is a different submission.
	bob := h.keyedRun("bob", "key-1", validRun(file("in.txt", "abc"))...)
	if bob == first || h.runCount("bob") != 1 {
		t.Errorf("bob's key-1 gave %s (alice's %s); bob has %d runs", bob, first, h.runCount("bob"))
	}
	// Without a key every POST is a new run.
	h.submit("alice", validRun()...)
	h.submit("alice", validRun()...)
	if n := h.runCount("alice"); n != 3 {
		t.Errorf("alice has %d runs, want 3", n)
	}
}

// keyedRun submits with a key and returns the run id, failing unless the answer is 200.
func (h *harness) keyedRun(user, key string, parts ...part) string {
	h.t.Helper()
	st, b, _ := h.postKeyed(user, key, parts...)
	return runIDOf(h.t, st, b)
}

func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	h := newHarness(t)
	h.keyedRun("alice", "k", validRun(file("in.txt", "abc"))...)
	for name, parts := range map[string][]part{
		"other attachment contents": validRun(file("in.txt", "abd")),
		"other field":               validRun(file("in.txt", "abc"), field("tags", `{"a":"b"}`)),
	} {
		st, b, _ := h.postKeyed("alice", "k", parts...)
		if msg := errorBody(t, st, b).Msg; st != http.StatusConflict || !strings.Contains(msg, "different request") {
			t.Errorf("%s: %d %s", name, st, b)
		}
	}
	if n := h.runCount("alice"); n != 1 {
		t.Errorf("alice has %d runs, want 1", n)
	}
}

func TestIdempotencyKeyInvalid(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{strings.Repeat("x", 256), "caf\u00e9"} {
		st, b, _ := h.postKeyed("alice", k, validRun()...)
		if msg := errorBody(t, st, b).Msg; st != http.StatusBadRequest || !strings.Contains(msg, IdempotencyHeader) {
			t.Errorf("key %q: %d %s", k, st, b)
		}
	}
	if n := h.runCount("alice"); n != 0 {
		t.Errorf("refused keys made %d runs", n)
	}
}

// gatedStore holds the first Create until release is closed, so a duplicate can be sent while the
// first submission is being stored.
type gatedStore struct {
	wes.RunStore
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gatedStore) Create(ctx context.Context, r *wes.Run) error {
	first := false
	g.once.Do(func() { close(g.entered); first = true })
	if first {
		<-g.release
	}
	return g.RunStore.Create(ctx, r)
}

func TestIdempotencyKeyWhileInProgress(t *testing.T) {
	g := &gatedStore{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHarness(t, func(_ *testConfig, d *testDeps) { g.RunStore = d.Store; d.Store = g })
	// Released on every way out, so a failing check does not leave a handler blocked.
	release := sync.OnceFunc(func() { close(g.release) })
	defer release()
	var first string
	done := make(chan struct{})
	go func() {
		defer close(done)
		st, b, _ := h.postKeyed("alice", "slow", validRun()...)
		var id api.RunId
		if st == http.StatusOK && json.Unmarshal(b, &id) == nil {
			first = id.RunId
		} else {
			t.Errorf("first submission: %d %s", st, b)
		}
	}()
	<-g.entered
	st, b, hdr := h.postKeyed("alice", "slow", validRun()...)
	if msg := errorBody(t, st, b).Msg; st != http.StatusConflict || !strings.Contains(msg, "in progress") || hdr.Get("Retry-After") == "" {
		t.Errorf("duplicate while the first is stored: %d %s (Retry-After %q)", st, b, hdr.Get("Retry-After"))
	}
	release()
	<-done
	again := h.keyedRun("alice", "slow", validRun()...)
	if again != first || h.runCount("alice") != 1 {
		t.Errorf("after the first finished: %s vs %s, %d runs", again, first, h.runCount("alice"))
	}
}

func TestIdempotencyKeyConcurrentDuplicates(t *testing.T) {
	h := newHarness(t)
	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, b, _ := h.postKeyed("alice", "burst", validRun()...)
			var id api.RunId
			switch {
			case st == http.StatusOK && json.Unmarshal(b, &id) == nil:
				ids[i] = id.RunId
			case st != http.StatusConflict:
				t.Errorf("duplicate: %d %s", st, b)
			}
		}()
	}
	wg.Wait()
	if c := h.runCount("alice"); c != 1 {
		t.Errorf("%d concurrent duplicates made %d runs", n, c)
	}
	for _, id := range ids {
		if id != "" && id != ids[0] && ids[0] != "" {
			t.Errorf("answers name different runs: %v", ids)
			break
		}
	}
}

// failingCreate refuses every Create as Redis going away would.
type failingCreate struct{ wes.RunStore }

func (failingCreate) Create(context.Context, *wes.Run) error {
	return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the run store cannot be reached; try again later", Err: errors.New("down")}
}

// A store write that fails after the submission was audited leaves the trail with the
// real outcome, and frees the key for a retry.
func TestSubmitStoreFailureIsAudited(t *testing.T) {
	al := audit.New(testutil.Redis(t), audit.Options{Prefix: testutil.UniqueName("enclave-httpapi-audit-") + ":"})
	h := newHarness(t, func(_ *testConfig, d *testDeps) { d.Store = failingCreate{d.Store}; d.Audit = al })
	st, b, _ := h.postKeyed("alice", "k", validRun()...)
	if st != http.StatusServiceUnavailable {
		t.Fatalf("submission with the store down: %d %s", st, b)
	}
	page, err := al.Query(context.Background(), audit.Filter{Action: actionSubmit, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, e := range page.Entries {
		outcomes = append(outcomes, e.Event.Outcome)
	}
	if !slices.Contains(outcomes, "ok") || !slices.Contains(outcomes, "error") {
		t.Errorf("run.submit outcomes = %v, want ok and a follow-up error", outcomes)
	}
	if c, err := h.store.Reserve(context.Background(), "alice", "k", wes.IdemClaim{Hash: "x", RunID: "y"}, idemPendingTTL); err != nil || c != nil {
		t.Errorf("the key of the failed submission is still taken: %+v %v", c, err)
	}
}
