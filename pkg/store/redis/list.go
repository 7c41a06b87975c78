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
// or of everyone, filtered by f. EINVALID for a page size below 1 or a bad page token.
//
// An unfiltered list reads one page of the owner's (or everyone's) index. A filtered one
// walks the narrowest index that answers part of the filter (runs waiting for review, a
// workflow's runs, a state's runs) and tests every run it reads against the whole filter,
// so an index entry that is out of date never lets a wrong run through. It reads at most
// scanBudget runs a page: past that it returns what it found with a token that goes on
// from the last run read.
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
	if !f.Filtered() {
		return s.listIndex(ctx, s.indexKey(f.Owner), upper, f.PageSize)
	}
	return s.listFiltered(ctx, f, upper)
}

// listIndex is one page of the runs in index key below upper.
func (s *Store) listIndex(ctx context.Context, key, upper string, size int) (wes.RunPage, error) {
	// One more than a page tells whether another page follows, so the last page never
	// carries a token that leads to an empty page.
	ids, err := s.c.ZRevRangeByLex(ctx, key, &redis.ZRangeBy{Max: upper, Min: "-", Count: int64(size) + 1}).Result()
	if err != nil {
		return wes.RunPage{}, storeErr(err, "list runs")
	}
	var page wes.RunPage
	if len(ids) > size {
		ids = ids[:size]
		page.NextPageToken = encodeToken(ids[len(ids)-1])
	}
	page.Runs, err = s.load(ctx, ids)
	return page, err
}

// scanBudget bounds how many runs one filtered page reads.
const scanBudget = 2000

// listFiltered walks the narrowest index for f from upper down, in batches, keeping the
// runs that match f, until it has a page and one more, the index ends, or it has read
// scanBudget runs.
func (s *Store) listFiltered(ctx context.Context, f wes.RunFilter, upper string) (wes.RunPage, error) {
	key := s.indexKey(f.Owner)
	switch {
	case f.ReviewPending:
		key = s.reviewKey()
	case f.Workflow != "":
		key = s.workflowKey(f.Workflow)
	case f.State != "":
		key = s.stateKey(f.State)
	}
	batch := int64(max(f.PageSize+1, 100))
	var page wes.RunPage
	var found []*wes.Run
	read := 0
	for {
		ids, err := s.c.ZRevRangeByLex(ctx, key, &redis.ZRangeBy{Max: upper, Min: "-", Count: batch}).Result()
		if err != nil {
			return wes.RunPage{}, storeErr(err, "list runs")
		}
		runs, err := s.load(ctx, ids)
		if err != nil {
			return wes.RunPage{}, err
		}
		for _, r := range runs {
			if f.Matches(r) {
				found = append(found, r)
			}
		}
		read += len(ids)
		switch {
		case len(found) > f.PageSize:
			page.Runs = found[:f.PageSize]
			page.NextPageToken = encodeToken(found[f.PageSize-1].ID)
			return page, nil
		case int64(len(ids)) < batch:
			page.Runs = found
			return page, nil
		case read >= scanBudget:
			page.Runs = found
			page.NextPageToken = encodeToken(ids[len(ids)-1])
			return page, nil
		}
		upper = "(" + ids[len(ids)-1]
	}
}

// load reads the runs ids, in order, skipping any that are gone.
func (s *Store) load(ctx context.Context, ids []string) ([]*wes.Run, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.runKey(id)
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, storeErr(err, "list runs")
	}
	out := make([]*wes.Run, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // runs are never deleted; tolerate a hand-edited database
		}
		r, err := decode([]byte(str))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
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
