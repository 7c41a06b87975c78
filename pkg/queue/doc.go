// Package queue carries the run lifecycle steps (start, cancel, finalize) through asynq
// on Redis: Client enqueues them and implements wes.Dispatcher, Worker runs them with
// the Handlers the runner provides.
//
// # Tasks
//
// Every task's payload is {"run_id": "<id>"} and its asynq task id is "<type>:<run id>",
// for example "run:start:0190…". Enqueueing a step that is already waiting, retrying or
// running is therefore a no-op: the step that is there will do the work, and callers
// that want it done again later (the reconciler) simply ask again later. A finished step
// leaves no task behind, so the same step can be enqueued again at once. A step whose
// task sits in the archived (dead) or completed set would block its id forever; the
// Client deletes such a task and enqueues a fresh one. A step whose task is running on a
// worker that died is enqueued again as "<type>:<run id>:resume-<n>" (see below).
//
// # Retries
//
// Handlers are short idempotent steps. A handler error that is a wes.Error with code
// EINVALID or ENOTFOUND is final (the task is archived at once, asynq.SkipRetry); any
// other error, a timeout (WorkerConfig.TaskTimeout) or a panic is retried with capped
// exponential backoff (RetryBaseDelay doubling up to 30 s) until MaxRetry is used up.
//
// # Crash safety
//
// asynq keeps a lease on every running task and a live worker renews it every few
// seconds. When a worker dies without acknowledging a task (kill -9, OOM, power loss),
// the lease runs out (30 s) and the recoverer of any worker on the queue puts the task
// back for a retry: it looks every minute, and once when a worker starts, for leases
// expired more than 30 s ago. So a step of a killed worker runs again on another worker
// 60 to 120 s after the crash, or as soon as a new worker starts once 60 s have passed.
// A worker that shuts down normally pushes unfinished steps back to the queue at once
// after ShutdownTimeout. That is why steps must be idempotent: a step may run again
// after it did part or all of its work.
//
// The Client does not wait for that recovery. While a Worker runs a step it keeps an
// alive key ("enclave:queue:{<queue>}:alive:<task id>", a 10 s TTL renewed every 3 s);
// asked to enqueue a step whose task is active with neither that key nor an asynq lease
// renewed in the last 10 s, the Client enqueues the step again under the next fresh id
// "<type>:<run id>:resume-<n>". Every client finds the same next id, so the step is
// resumed once however many ask (the reconcilers of several workers). The reconciler
// asks again for every run stuck for 10 s, so a step of a killed worker resumes about
// 10 s after the kill. The orphaned task still comes back later through asynq's
// recovery and runs again, as a no-op. The lease check compares the worker's clock with
// the client's: they must agree within a few seconds (the alive key, which Redis
// expires, covers a larger difference on its own once a step has begun).
//
// # Running on miniredis
//
// asynq's Client, Worker and Inspector work unchanged on github.com/alicebob/miniredis/v2
// (a RedisClientOpt with the miniredis address): its Lua scripts, pub/sub and
// transactions are all supported. miniredis does not expire keys by itself, so the
// embedded default should call ClockTTL(true) on it; otherwise asynq's heartbeat keys
// of stopped workers stay around (harmless for the tasks).
package queue
