package redisstore

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// tokenVersion is the first byte of every page token, so the format can change later
// without old tokens being misread.
const tokenVersion = 1

// List returns a page of runs, newest first (by id, which is time ordered), of one owner
// or of everyone. EINVALID for a page size below 1 or a bad page token.
func (s *Store) List(ctx context.Context, f wes.RunFilter) (wes.RunPage, error) {
	if f.PageSize < 1 {
		return wes.RunPage{}, wes.Errorf(wes.EINVALID, "page_size must be at least 1")
	}
	upper := "+"
	if f.PageToken != "" {
		last, err := decodeToken(f.PageToken)
		if err != nil {
			return wes.RunPage{}, err
		}
		upper = "(" + last
	}
	// One more than a page tells whether another page follows, so the last page never
	// carries a token that leads to an empty page.
	ids, err := s.c.ZRevRangeByLex(ctx, s.indexKey(f.Owner), &redis.ZRangeBy{
		Max: upper, Min: "-", Count: int64(f.PageSize) + 1,
	}).Result()
	if err != nil {
		return wes.RunPage{}, storeErr(err, "list runs")
	}
	var page wes.RunPage
	if len(ids) > f.PageSize {
		ids = ids[:f.PageSize]
		page.NextPageToken = encodeToken(ids[len(ids)-1])
	}
	if len(ids) == 0 {
		return page, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.runKey(id)
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return wes.RunPage{}, storeErr(err, "list runs")
	}
	page.Runs = make([]*wes.Run, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // runs are never deleted; tolerate a hand-edited database
		}
		r, err := decode([]byte(str))
		if err != nil {
			return wes.RunPage{}, err
		}
		page.Runs = append(page.Runs, r)
	}
	return page, nil
}

func encodeToken(lastID string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{tokenVersion}, lastID...))
}

func decodeToken(tok string) (string, error) {
	bad := wes.Errorf(wes.EINVALID, "page_token is not valid; use the next_page_token of a previous page, or none for the first page")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 2 || b[0] != tokenVersion {
		return "", bad
	}
	id := string(b[1:])
	if !printable(id) {
		return "", bad
	}
	return id, nil
}

// printable reports whether s has only visible ASCII characters, as run ids do.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// StateCounts counts runs per state, of one owner or (owner "") of all runs. Every WES
// state is in the map, with 0 where there are no runs.
func (s *Store) StateCounts(ctx context.Context, owner string) (map[wes.State]int64, error) {
	h, err := s.c.HGetAll(ctx, s.countsKey(owner)).Result()
	if err != nil {
		return nil, storeErr(err, "count runs")
	}
	out := make(map[wes.State]int64, len(wes.AllStates))
	for _, st := range wes.AllStates {
		out[st] = 0
	}
	for k, v := range h {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, wes.Internal(err, "a stored run count could not be read")
		}
		if st := wes.State(k); st.Valid() {
			out[st] = n
		}
	}
	return out, nil
}

// Active returns the ids of all runs in a non-terminal state, oldest first.
func (s *Store) Active(ctx context.Context) ([]string, error) {
	ids, err := s.c.SMembers(ctx, s.activeKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, storeErr(err, "list active runs")
	}
	slices.Sort(ids)
	return ids, nil
}

// Pending returns the ids of all runs with pending side effects (Run.Effects), oldest
// first. One SMEMBERS: the set holds only runs whose effects are not done yet, which is
// none or a handful unless workers keep dying.
func (s *Store) Pending(ctx context.Context) ([]string, error) {
	ids, err := s.c.SMembers(ctx, s.effectsKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, storeErr(err, "list runs with pending effects")
	}
	slices.Sort(ids)
	return ids, nil
}
