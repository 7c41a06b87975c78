package runner_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// roundTrips counts the round trips a Redis client makes: one per command sent alone,
// one per pipeline (a MULTI/EXEC transaction is one).
type roundTrips struct {
	mu    sync.Mutex
	trips []string
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.add(cmd.Name())
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		h.add(strings.Join(names, " "))
		return next(ctx, cmds)
	}
}

func (h *roundTrips) add(s string) {
	h.mu.Lock()
	h.trips = append(h.trips, s)
	h.mu.Unlock()
}

// take returns the round trips since the last take.
func (h *roundTrips) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.trips
	h.trips = nil
	return t
}

// counted makes e's runner use a run store whose round trips are counted (the audit
// trail keeps its own client, so its appends are not).
func counted(t *testing.T, e *env) *roundTrips {
	h := &roundTrips{}
	c := testutil.Redis(t)
	c.AddHook(h)
	e.store = redisstore.New(c, redisstore.Options{Prefix: e.prefix})
	e.r = e.newRunner(t, nil)
	return h
}

// TestOutboxRoundTrips measures what the outbox costs the run store per state change:
// nothing in the update that changes the state (the effects and the pending set ride in
// its transaction), and one more optimistic update to remove the done effects. The
// numbers are logged (go test -v -run TestOutboxRoundTrips).
func TestOutboxRoundTrips(t *testing.T) {
	measure := func(opts ...envOption) (start, finalize []string) {
		e := newEnv(t, opts...)
		rt := counted(t, e)
		ctx := t.Context()
		id := e.newRun(t, []string{"fake", "sleep=1m"})
		rt.take()
		if err := e.r.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		start = rt.take()
		e.clock.advance(2 * time.Minute)
		if err := e.r.Finalize(ctx, id); err != nil {
			t.Fatal(err)
		}
		finalize = rt.take()
		if run := e.get(t, id); run.State != wes.StateComplete || len(run.Effects) != 0 {
			t.Fatalf("state %s effects %+v, want COMPLETE with an empty outbox", run.State, run.Effects)
		}
		return start, finalize
	}
	start0, fin0 := measure(withoutCleanup()) // no audit trail, no clean-up: no effects
	start1, fin1 := measure(withAudit())      // RUNNING: audit; COMPLETE: clean-up and audit
	t.Logf("start without effects: %d round trips %q", len(start0), start0)
	t.Logf("start with effects:    %d round trips %q", len(start1), start1)
	t.Logf("finalize without effects: %d round trips %q", len(fin0), fin0)
	t.Logf("finalize with effects:    %d round trips %q", len(fin1), fin1)
	// One update is WATCH, GET, MULTI…EXEC.
	const update = 3
	if d := len(start1) - len(start0); d != update {
		t.Errorf("the outbox adds %d round trips to start, want %d (one update)", d, update)
	}
	if d := len(fin1) - len(fin0); d != update {
		t.Errorf("the outbox adds %d round trips to finalize, want %d (one update)", d, update)
	}
}
