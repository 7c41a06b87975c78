// Package redisstore keeps Enclave's runs in Redis: it implements wes.RunStore with
// optimistic transactions (WATCH/MULTI/EXEC) so every state change is validated and
// moves the run, its indexes and its counts in one atomic step.
//
// # Key layout
//
// With the prefix p (Options.Prefix, default "enclave:"):
//
//	{p}run:{id}                  string  the run as JSON (wes.Run)
//	{p}runs                      zset    every run id, all with score 0
//	{p}runs:owner:{owner}        zset    the owner's run ids, score 0
//	{p}counts                    hash    state → number of runs in that state
//	{p}counts:owner:{owner}      hash    the same, per owner
//	{p}active                    set     ids of runs in a non-terminal state
//	{p}effects                   set     ids of runs whose outbox (Run.Effects) is not empty
//	{p}runs:state:{state}        zset    ids of the runs in that state, score 0
//	{p}runs:workflow:{id}        zset    ids of the runs of that catalogue workflow, score 0
//	{p}runs:review               zset    ids of the runs with outputs waiting for review
//	{p}index-version             string  which indexes the database has (Store.Reindex)
//	{p}lease:{name}              string  the holder of a lease (Store.Lease), expiring with it
//
// Run ids are UUIDv7 strings, which sort by creation time, so the sorted sets hold all
// members at score 0 and are read newest first with ZREVRANGEBYLEX: a page token is the
// last id of a page, and the next page starts strictly below it. Tokens therefore stay
// valid while runs are added; new runs only ever appear on page one. A filtered list
// (wes.RunFilter) walks the narrowest of these sets and tests each run it reads.
//
// The layout is AOF friendly: every write of a run is a plain command inside MULTI/EXEC
// (no Lua, no key expiry), so an append-only file replays to exactly the same indexes and
// counts. Only a lease expires, by design: it is a lock, not data, and losing one only
// makes the workers elect a reconciler again. No run is ever deleted, so the indexes cannot point at a missing run.
//
// With Redis Cluster, all keys must share one hash slot for the transactions to work:
// use a prefix with a hash tag, such as "{enclave}:".
//
// # Errors
//
// A run that does not exist is ENOTFOUND, a duplicate id or an invalid state change is
// ECONFLICT, a bad page token or page size is EINVALID. A Redis that cannot be reached
// (or is loading, read-only or out of memory) is EUNAVAILABLE, wrapping the cause; any
// other failure is EINTERNAL.
package redisstore
