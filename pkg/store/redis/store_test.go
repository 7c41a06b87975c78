package redisstore

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/store/storetest"
	"github.com/spe4hd/enclave/pkg/wes"
)

// realStore returns a store on the real test Redis under a prefix of its own, whose keys
// are removed when the test ends.
func realStore(t *testing.T) (*Store, *redis.Client, string) {
	t.Helper()
	c := testutil.Redis(t)
	prefix := testutil.UniqueName("enclave-test-") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := c.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return New(c, Options{Prefix: prefix}), c, prefix
}

// miniStore returns a store on an in-process miniredis, as the embedded default runs.
func miniStore(t *testing.T) (*Store, *redis.Client, *miniredis.Miniredis) {
	t.Helper()
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return New(c, Options{}), c, mr
}

func TestConformanceRedis(t *testing.T) {
	storetest.Run(t, func(t *testing.T) wes.RunStore {
		s, _, _ := realStore(t)
		return s
	})
}

func TestConformanceMiniredis(t *testing.T) {
	storetest.Run(t, func(t *testing.T) wes.RunStore {
		s, _, _ := miniStore(t)
		return s
	})
}

func newID(t *testing.T) string {
	t.Helper()
	return uuid.Must(uuid.NewV7()).String()
}

func TestKeyLayout(t *testing.T) {
	s, c, p := realStore(t)
	ctx := t.Context()
	id := newID(t)
	if err := s.Create(ctx, &wes.Run{ID: id, Owner: "alice", State: wes.StateQueued}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, id, func(r *wes.Run) error { r.State = wes.StateRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	wantTypes := map[string]string{
		p + "run:" + id:          "string",
		p + "runs":               "zset",
		p + "runs:owner:alice":   "zset",
		p + "counts":             "hash",
		p + "counts:owner:alice": "hash",
		p + "active":             "set",
		p + "runs:state:RUNNING": "zset",
	}
	keys, err := c.Keys(ctx, p+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if len(keys) != len(wantTypes) {
		t.Errorf("keys %v, want exactly %d documented keys", keys, len(wantTypes))
	}
	for k, typ := range wantTypes {
		if got := c.Type(ctx, k).Val(); got != typ {
			t.Errorf("TYPE %s = %q, want %q", k, got, typ)
		}
	}
	if got := c.HGetAll(ctx, p+"counts").Val(); got["QUEUED"] != "0" || got["RUNNING"] != "1" {
		t.Errorf("counts hash = %v, want QUEUED 0 and RUNNING 1", got)
	}
	if sc := c.ZScore(ctx, p+"runs", id).Val(); sc != 0 {
		t.Errorf("index score %v, want 0 (ids sort by lex)", sc)
	}
}

func TestDefaultPrefix(t *testing.T) {
	s, c, _ := miniStore(t)
	id := newID(t)
	if err := s.Create(t.Context(), &wes.Run{ID: id, Owner: "alice", State: wes.StateQueued}); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(t.Context(), "enclave:run:"+id).Val(); n != 1 {
		t.Errorf("run not stored under the default prefix enclave:")
	}
}

func TestCreate(t *testing.T) {
	s, _, _ := miniStore(t)
	id := newID(t)
	for _, tc := range []struct {
		name string
		run  *wes.Run
	}{
		{"no id", &wes.Run{Owner: "alice", State: wes.StateQueued}},
		{"no owner", &wes.Run{ID: id, State: wes.StateQueued}},
		{"no state", &wes.Run{ID: id, Owner: "alice"}},
		{"unknown state", &wes.Run{ID: id, Owner: "alice", State: "DONE"}},
	} {
		err := s.Create(t.Context(), tc.run)
		if !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("%s: Create = %v, want EINVALID", tc.name, err)
		}
	}
	r := &wes.Run{ID: id, Owner: "alice", State: wes.StateQueued}
	if err := s.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if r.Version != 1 || r.CreatedAt.IsZero() || !r.UpdatedAt.Equal(r.CreatedAt) {
		t.Errorf("Create filled version %d created %v updated %v; want 1 and equal times", r.Version, r.CreatedAt, r.UpdatedAt)
	}
}

func TestUpdateKeepsIdentity(t *testing.T) {
	s, _, _ := miniStore(t)
	id := newID(t)
	if err := s.Create(t.Context(), &wes.Run{ID: id, Owner: "alice", State: wes.StateQueued}); err != nil {
		t.Fatal(err)
	}
	for name, fn := range map[string]func(*wes.Run){
		"owner": func(r *wes.Run) { r.Owner = "mallory" },
		"id":    func(r *wes.Run) { r.ID = "other" },
	} {
		_, err := s.Update(t.Context(), id, func(r *wes.Run) error { fn(r); return nil })
		if !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("changing the %s: %v, want EINVALID", name, err)
		}
	}
	if r, _ := s.Get(t.Context(), id); r.Owner != "alice" || r.Version != 1 {
		t.Errorf("refused update stored %+v", r)
	}
}

func TestCorruptRun(t *testing.T) {
	s, c, _ := miniStore(t)
	c.Set(t.Context(), "enclave:run:x", "{not json", 0)
	_, err := s.Get(t.Context(), "x")
	if !wes.IsCode(err, wes.EINTERNAL) {
		t.Errorf("Get of a corrupt run = %v, want EINTERNAL", err)
	}
}

func TestUnavailable(t *testing.T) {
	mr := miniredis.RunT(t)
	// No command retries: each call reports the dead server at once.
	c := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	s := New(c, Options{})
	id := newID(t)
	if err := s.Create(t.Context(), &wes.Run{ID: id, Owner: "alice", State: wes.StateQueued}); err != nil {
		t.Fatal(err)
	}
	mr.Close() // Redis goes away
	ctx := t.Context()
	calls := map[string]func() error{
		"Ping":   func() error { return s.Ping(ctx) },
		"Create": func() error { return s.Create(ctx, &wes.Run{ID: newID(t), Owner: "a", State: wes.StateQueued}) },
		"Get":    func() error { _, err := s.Get(ctx, id); return err },
		"Update": func() error {
			_, err := s.Update(ctx, id, func(*wes.Run) error { return nil })
			return err
		},
		"List":        func() error { _, err := s.List(ctx, wes.RunFilter{PageSize: 5}); return err },
		"StateCounts": func() error { _, err := s.StateCounts(ctx, ""); return err },
		"Active":      func() error { _, err := s.Active(ctx); return err },
		"Pending":     func() error { _, err := s.Pending(ctx); return err },
		"Live":        func() error { _, err := s.Live(ctx); return err },
	}
	for name, call := range calls {
		err := call()
		if !wes.IsCode(err, wes.EUNAVAILABLE) {
			t.Errorf("%s with Redis down = %v, want EUNAVAILABLE", name, err)
			continue
		}
		if errors.Unwrap(err) == nil {
			t.Errorf("%s: the EUNAVAILABLE error does not wrap its cause", name)
		}
	}
}

func TestPageToken(t *testing.T) {
	id := newID(t)
	got, err := decodeToken(encodeToken(id))
	if err != nil || got != id {
		t.Errorf("token round trip = %q, %v; want %q", got, err, id)
	}
}
