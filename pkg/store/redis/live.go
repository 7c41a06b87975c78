package redisstore

import (
	"context"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// liveChunk is how many run records one MGET of Live reads. All the MGETs go in one
// pipeline, so the chunk does not change the number of round trips; it bounds how long
// Redis is busy with one command (about a millisecond per thousand records), so that the
// API's reads are served between chunks rather than after all of them.
const liveChunk = 1000

// Live implements wes.RunStore in two round trips whatever the number of runs: one
// pipeline reads the active set and the set of runs with pending effects, a second one
// reads the records of both with MGETs of liveChunk keys (none when both sets are empty).
//
// A Lua script could read it all in one round trip, but it would hold Redis for the whole
// read (tens of milliseconds at 10,000 runs) and, on Redis Cluster, read keys it cannot
// declare in advance. An index of the live runs' handles would save decoding the records,
// but every update would have to keep it, and the reconciler needs more of the run than
// its handle (state, cancel request, last update, outbox).
func (s *Store) Live(ctx context.Context) (wes.LiveRuns, error) {
	return s.live(ctx, liveChunk)
}

func (s *Store) live(ctx context.Context, chunk int) (wes.LiveRuns, error) {
	var active, pending *redis.StringSliceCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		active = p.SMembers(ctx, s.activeKey())
		pending = p.SMembers(ctx, s.effectsKey())
		return nil
	})
	if err != nil {
		return wes.LiveRuns{}, storeErr(err, "list live runs")
	}
	activeIDs, pendingIDs := active.Val(), pending.Val()
	slices.Sort(activeIDs)
	slices.Sort(pendingIDs)
	ids := append(slices.Clone(activeIDs), pendingIDs...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	runs, err := s.getMany(ctx, ids, chunk)
	if err != nil {
		return wes.LiveRuns{}, err
	}
	pick := func(ids []string) []*wes.Run {
		out := make([]*wes.Run, 0, len(ids))
		for _, id := range ids {
			if r := runs[id]; r != nil { // records are never deleted; tolerate a hand-edited database
				out = append(out, r)
			}
		}
		return out
	}
	return wes.LiveRuns{Active: pick(activeIDs), Pending: pick(pendingIDs)}, nil
}

// getMany reads the runs with the given ids in one pipeline of MGETs of chunk keys each.
// Ids without a record are absent from the map.
func (s *Store) getMany(ctx context.Context, ids []string, chunk int) (map[string]*wes.Run, error) {
	out := make(map[string]*wes.Run, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var cmds []*redis.SliceCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for part := range slices.Chunk(ids, chunk) {
			keys := make([]string, len(part))
			for i, id := range part {
				keys[i] = s.runKey(id)
			}
			cmds = append(cmds, p.MGet(ctx, keys...))
		}
		return nil
	})
	if err != nil {
		return nil, storeErr(err, "read live runs")
	}
	i := 0
	for _, cmd := range cmds {
		for _, v := range cmd.Val() {
			id := ids[i]
			i++
			str, ok := v.(string)
			if !ok {
				continue
			}
			r, err := decode([]byte(str))
			if err != nil {
				return nil, err
			}
			out[id] = r
		}
	}
	return out, nil
}
