package runner

import (
	"context"
	"time"

	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/wes"
)

// observedExecutors hands out executors whose backend calls are timed and counted
// (Config.Metrics): the runner's decisions stay free of instrumentation.
type observedExecutors struct {
	Executors
	m *metrics.Registry
}

func (o observedExecutors) Get(name string) (wes.Executor, error) {
	ex, err := o.Executors.Get(name)
	if err != nil {
		return nil, err
	}
	return &observed{Executor: ex, m: o.m}, nil
}

// observed times an executor's backend calls. It has every call capability the runner
// uses (StatusBatch, Cleanup, Collect) whether its executor has it or not, so the
// runner asks for capabilities through capability, which looks at the executor inside.
type observed struct {
	wes.Executor
	m *metrics.Registry
}

func (o *observed) record(call string, start time.Time, err error) {
	o.m.ExecutorCall(o.Name(), call, time.Since(start), err)
}

func (o *observed) Submit(ctx context.Context, job *wes.Job) (h wes.Handle, err error) {
	defer func(t time.Time) { o.record("submit", t, err) }(time.Now())
	return o.Executor.Submit(ctx, job)
}

func (o *observed) Status(ctx context.Context, h wes.Handle) (st wes.JobStatus, err error) {
	defer func(t time.Time) { o.record("status", t, err) }(time.Now())
	return o.Executor.Status(ctx, h)
}

func (o *observed) Cancel(ctx context.Context, h wes.Handle) (err error) {
	defer func(t time.Time) { o.record("cancel", t, err) }(time.Now())
	return o.Executor.Cancel(ctx, h)
}

func (o *observed) StatusBatch(ctx context.Context, hs []wes.Handle) (sts []wes.JobStatus, err error) {
	defer func(t time.Time) { o.record("status_batch", t, err) }(time.Now())
	return o.Executor.(wes.StatusBatcher).StatusBatch(ctx, hs)
}

func (o *observed) Cleanup(ctx context.Context, h wes.Handle) (err error) {
	defer func(t time.Time) { o.record("cleanup", t, err) }(time.Now())
	return o.Executor.(wes.Cleaner).Cleanup(ctx, h)
}

func (o *observed) Collect(ctx context.Context, h wes.Handle) (err error) {
	defer func(t time.Time) { o.record("collect", t, err) }(time.Now())
	return o.Executor.(wes.Collector).Collect(ctx, h)
}

// capability returns ex as T when ex has that optional capability. For an observed
// executor it is the executor inside that decides; the call then goes through the
// observed one when it times that call.
func capability[T any](ex wes.Executor) (T, bool) {
	o, ok := ex.(*observed)
	if !ok {
		t, ok := ex.(T)
		return t, ok
	}
	inner, ok := o.Executor.(T)
	if !ok {
		return inner, false
	}
	if t, ok := any(o).(T); ok {
		return t, true
	}
	return inner, true
}
