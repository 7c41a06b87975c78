package redisstore

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// The admission keys of one executor (wes.Admission):
//
//	adm:<ex>:slots      set of the run ids that hold a slot
//	adm:<ex>:wait       hash: run id → owner, of the runs in the waiting line
//	adm:<ex>:ring       list of the owners with waiting runs, in turn order
//	adm:<ex>:q:<owner>  sorted set of an owner's waiting runs, by submission order
//
// An owner is in the ring exactly when its queue is not empty. Every change is one Lua
// script, so the slots, the line and the ring change together or not at all.

var _ wes.Admission = (*Admission)(nil)

// Admission is a wes.Admission on the store's Redis and key prefix.
type Admission struct{ s *Store }

// Admission returns the store's wes.Admission.
func (s *Store) Admission() *Admission { return &Admission{s: s} }

func (s *Store) admKeys(ex string) []string {
	b := s.p + "adm:" + ex + ":"
	return []string{b + "slots", b + "wait", b + "ring"}
}

func (s *Store) admQueuePrefix(ex string) string { return s.p + "adm:" + ex + ":q:" }

// admitLua lets waiting runs in while slots are free, one per owner in ring order. It is
// the tail of the acquire and release scripts: KEYS are slots, wait, ring; qp is the
// owner-queue key prefix.
const admitLua = `
local function admit(limit, qp)
  local out = {}
  while redis.call('SCARD', KEYS[1]) < limit do
    local owner = redis.call('LPOP', KEYS[3])
    if not owner then break end
    local q = qp .. owner
    local popped = redis.call('ZPOPMIN', q, 1)
    if #popped > 0 then
      redis.call('SADD', KEYS[1], popped[1])
      redis.call('HDEL', KEYS[2], popped[1])
      out[#out + 1] = popped[1]
    end
    if redis.call('ZCARD', q) > 0 then redis.call('RPUSH', KEYS[3], owner) end
  end
  return out
end
`

// acquireScript: ARGV qp, limit, owner, id, order. Returns {granted (0/1), admitted...}.
var acquireScript = redis.NewScript(admitLua + `
local qp, limit, owner, id = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
if redis.call('SISMEMBER', KEYS[1], id) == 1 then return {'1'} end
if redis.call('HEXISTS', KEYS[2], id) == 0 then
  local q = qp .. owner
  redis.call('ZADD', q, ARGV[5], id)
  redis.call('HSET', KEYS[2], id, owner)
  if redis.call('ZCARD', q) == 1 then redis.call('RPUSH', KEYS[3], owner) end
end
local admitted = admit(limit, qp)
local res, granted = {0}, 0
for _, a in ipairs(admitted) do
  if a == id then granted = 1 else res[#res + 1] = a end
end
res[1] = tostring(granted)
return res
`)

// releaseScript: ARGV qp, limit, ids... Returns the admitted runs.
var releaseScript = redis.NewScript(admitLua + `
local qp, limit = ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV do
  local id = ARGV[i]
  redis.call('SREM', KEYS[1], id)
  local owner = redis.call('HGET', KEYS[2], id)
  if owner then
    local q = qp .. owner
    redis.call('ZREM', q, id)
    redis.call('HDEL', KEYS[2], id)
    if redis.call('ZCARD', q) == 0 then redis.call('LREM', KEYS[3], 0, owner) end
  end
end
return admit(limit, qp)
`)

// Acquire implements wes.Admission.
func (a *Admission) Acquire(ctx context.Context, t wes.Ticket, limit int) (bool, []string, error) {
	if t.Executor == "" || t.RunID == "" || t.Owner == "" {
		return false, nil, wes.Errorf(wes.EINVALID, "an admission ticket needs an executor, a run id and an owner")
	}
	res, err := acquireScript.Run(ctx, a.s.c, a.s.admKeys(t.Executor), a.s.admQueuePrefix(t.Executor),
		limit, t.Owner, t.RunID, strconv.FormatInt(t.Order, 10)).StringSlice()
	if err != nil {
		return false, nil, storeErr(err, "acquire a run slot")
	}
	if len(res) == 0 {
		return false, nil, wes.Errorf(wes.EINTERNAL, "acquire a run slot: empty answer")
	}
	return res[0] == "1", res[1:], nil
}

// Release implements wes.Admission.
func (a *Admission) Release(ctx context.Context, executor string, limit int, ids ...string) ([]string, error) {
	args := make([]any, 0, 2+len(ids))
	args = append(args, a.s.admQueuePrefix(executor), limit)
	for _, id := range ids {
		args = append(args, id)
	}
	res, err := releaseScript.Run(ctx, a.s.c, a.s.admKeys(executor), args...).StringSlice()
	if err != nil {
		return nil, storeErr(err, "release run slots")
	}
	return res, nil
}

// Holders implements wes.Admission.
func (a *Admission) Holders(ctx context.Context, executor string) ([]string, error) {
	ids, err := a.s.c.SMembers(ctx, a.s.admKeys(executor)[0]).Result()
	return ids, storeErr(err, "read run slots")
}

// Waiting implements wes.Admission.
func (a *Admission) Waiting(ctx context.Context, executor string, ids []string) ([]bool, error) {
	out := make([]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	vals, err := a.s.c.HMGet(ctx, a.s.admKeys(executor)[1], ids...).Result()
	if err != nil {
		return nil, storeErr(err, "read the waiting line")
	}
	for i, v := range vals {
		out[i] = v != nil
	}
	return out, nil
}

// Occupancy implements wes.Admission.
func (a *Admission) Occupancy(ctx context.Context, executor string) (running, waiting int64, err error) {
	k := a.s.admKeys(executor)
	var sc, hl *redis.IntCmd
	_, err = a.s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		sc, hl = p.SCard(ctx, k[0]), p.HLen(ctx, k[1])
		return nil
	})
	if err != nil {
		return 0, 0, storeErr(err, "count run slots")
	}
	return sc.Val(), hl.Val(), nil
}
