package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// indexVersion names the set of indexes this code keeps; Reindex builds the ones a
// database written by an older version lacks.
const indexVersion = "2" // 2: the state, workflow and review indexes of filtered lists

func (s *Store) indexVersionKey() string { return s.p + "index-version" }

// Reindex adds every stored run to the state, workflow and review indexes, once per
// database: runs stored before those indexes existed would otherwise be missing from
// filtered lists (the review queue). It walks all runs in batches and returns how many
// it indexed; a database already at indexVersion costs one GET. Safe to run from
// several processes at once and alongside writers: an entry added for a state the run
// has meanwhile left only costs a filtered list one run read, since List tests every run
// it reads against the filter.
func (s *Store) Reindex(ctx context.Context) (int, error) {
	v, err := s.c.Get(ctx, s.indexVersionKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, storeErr(err, "read the index version")
	}
	if v == indexVersion {
		return 0, nil
	}
	n, upper := 0, "+"
	for {
		ids, err := s.c.ZRevRangeByLex(ctx, s.indexKey(""), &redis.ZRangeBy{Max: upper, Min: "-", Count: 500}).Result()
		if err != nil {
			return n, storeErr(err, "reindex runs")
		}
		runs, err := s.load(ctx, ids)
		if err != nil {
			return n, err
		}
		_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, r := range runs {
				z := redis.Z{Member: r.ID}
				p.ZAdd(ctx, s.stateKey(r.State), z)
				if r.Workflow != "" {
					p.ZAdd(ctx, s.workflowKey(r.Workflow), z)
				}
				if r.ReviewPending() {
					p.ZAdd(ctx, s.reviewKey(), z)
				}
			}
			return nil
		})
		if err != nil {
			return n, storeErr(err, "reindex runs")
		}
		n += len(runs)
		if len(ids) < 500 {
			break
		}
		upper = "(" + ids[len(ids)-1]
	}
	return n, storeErr(s.c.Set(ctx, s.indexVersionKey(), indexVersion, 0).Err(), "record the index version")
}
