package redisstore

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// tripHook counts a client's round trips: a command sent alone, or a whole pipeline.
type tripHook struct{ n atomic.Int64 }

func (h *tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}

func (h *tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// TestLiveChunks reads more runs than fit in one MGET, on the real Redis and on
// miniredis (the embedded store): every record comes back, in two round trips, the same
// as with one chunk; an id listed without a record is left out, a corrupt one is an error.
func TestLiveChunks(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) (*Store, *redis.Client){
		"redis": func(t *testing.T) (*Store, *redis.Client) { s, c, _ := realStore(t); return s, c },
		"miniredis": func(t *testing.T) (*Store, *redis.Client) {
			s, c, _ := miniStore(t)
			return s, c
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, c := open(t)
			ctx := t.Context()
			var active, pending []string
			for i := range 10 {
				id := newID(t)
				r := &wes.Run{ID: id, Owner: "alice", State: wes.StateRunning}
				switch i % 3 {
				case 1: // ended with its clean-up still to do
					r.State, r.Effects = wes.StateComplete, []wes.Effect{{ID: "2-cleanup", Kind: wes.EffectCleanup}}
					pending = append(pending, id)
				case 2: // live, with an audit event still to record
					r.Effects = []wes.Effect{{ID: "1-audit", Kind: wes.EffectAudit}}
					pending = append(pending, id)
					active = append(active, id)
				default:
					active = append(active, id)
				}
				if err := s.Create(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			c.SAdd(ctx, s.activeKey(), "no-such-run") // listed, but without a record

			whole, err := s.live(ctx, 1000)
			if err != nil {
				t.Fatal(err)
			}
			h := &tripHook{}
			c.AddHook(h)
			chunked, err := s.live(ctx, 3) // 4 MGETs
			if err != nil {
				t.Fatal(err)
			}
			if n := h.n.Load(); n != 2 {
				t.Errorf("Live took %d round trips, want 2", n)
			}
			if !reflect.DeepEqual(chunked, whole) {
				t.Errorf("Live in chunks of 3 differs from one chunk:\n%+v\n%+v", chunked, whole)
			}
			ids := func(runs []*wes.Run) []string {
				out := make([]string, len(runs))
				for i, r := range runs {
					out[i] = r.ID
				}
				return out
			}
			if got := ids(chunked.Active); !reflect.DeepEqual(got, active) {
				t.Errorf("Active = %v, want %v", got, active)
			}
			if got := ids(chunked.Pending); !reflect.DeepEqual(got, pending) {
				t.Errorf("Pending = %v, want %v", got, pending)
			}
			for _, r := range chunked.Active {
				if r.State != wes.StateRunning || r.Version != 1 {
					t.Errorf("active run %s read as %s version %d", r.ID, r.State, r.Version)
				}
			}

			c.Set(ctx, s.runKey(active[0]), "{not json", 0)
			if _, err := s.live(ctx, 3); !wes.IsCode(err, wes.EINTERNAL) {
				t.Errorf("Live with a corrupt record = %v, want EINTERNAL", err)
			}
		})
	}
}
