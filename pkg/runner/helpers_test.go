package runner_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/runner"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// testEngine is a tiny engine whose job is the fake executor's argv taken from
// workflow_params: {"argv": [...]}. {"refuse": "field"} makes Prepare refuse the run the
// way a real engine refuses bad parameters. Outputs fail when the work dir holds a file
// named no-outputs (the fake's append=no-outputs creates it). onOutputs, when set, runs
// as Outputs begins (a test's way to act while finalize is in progress).
type testEngine struct{ onOutputs func() }

const engineName = "testeng"

func (testEngine) Name() string                                      { return engineName }
func (testEngine) WorkflowType() string                              { return "TEST" }
func (testEngine) TypeVersions() []string                            { return []string{"1"} }
func (testEngine) Versions() []string                                { return []string{"1.0"} }
func (testEngine) Parameters() []wes.EngineParam                     { return nil }
func (testEngine) Tasks(context.Context, string) ([]wes.Task, error) { return nil, nil }

func (testEngine) Prepare(_ context.Context, in wes.PrepareInput) (*wes.Job, error) {
	var p struct {
		Argv   []string `json:"argv"`
		Refuse string   `json:"refuse"`
	}
	if err := json.Unmarshal(in.Run.Request.WorkflowParams, &p); err != nil {
		return nil, wes.Errorf(wes.EINVALID, "workflow_params must be a JSON object")
	}
	if p.Refuse != "" {
		return nil, wes.Errorf(wes.EINVALID, "workflow_params.%s is not acceptable", p.Refuse)
	}
	// Like a real engine, write the params file: this fails unless WorkDir exists.
	if err := os.WriteFile(filepath.Join(in.WorkDir, "params.json"), in.Run.Request.WorkflowParams, 0o640); err != nil {
		return nil, wes.Internal(err, "writing params")
	}
	return &wes.Job{Argv: p.Argv}, nil
}

func (en *testEngine) Outputs(_ context.Context, workDir string) (map[string]any, error) {
	if en.onOutputs != nil {
		en.onOutputs()
	}
	if _, err := os.Stat(filepath.Join(workDir, "params.json")); err != nil {
		return nil, wes.Internal(err, "not the work dir the job ran in")
	}
	if _, err := os.Stat(filepath.Join(workDir, "no-outputs")); err == nil {
		return nil, wes.Internal(errors.New("scripted"), "outputs unreadable")
	}
	return map[string]any{"result": "result.txt"}, nil
}

// clock is the time of both the runner and the fake executor: real time plus an offset
// a test moves forward, so a job's sleep= ends or a run gets stuck without waiting.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// recExec is the real fake executor with call counts and one-shot failure hooks around it.
type recExec struct {
	*fake.Executor
	mu           sync.Mutex
	submits      int
	statuses     int
	batches      []int // size of each StatusBatch call
	cancels      int
	cleaned      map[string]wes.JobState // job id → its state when it was cleaned up
	beforeSubmit func()                  // one shot: runs before the real Submit
	afterSubmit  error                   // one shot: returned instead of the real Submit's result
	cancelErr    error                   // one shot: returned by Cancel instead of cancelling
	cleanupErr   error                   // one shot: returned by Cleanup instead of cleaning up
}

func (x *recExec) Submit(ctx context.Context, job *wes.Job) (wes.Handle, error) {
	x.mu.Lock()
	x.submits++
	before, after := x.beforeSubmit, x.afterSubmit
	x.beforeSubmit, x.afterSubmit = nil, nil
	x.mu.Unlock()
	if before != nil {
		before()
	}
	h, err := x.Executor.Submit(ctx, job)
	if after != nil {
		return wes.Handle{}, after // the job exists, but the caller never learns its handle
	}
	return h, err
}

func (x *recExec) Status(ctx context.Context, h wes.Handle) (wes.JobStatus, error) {
	x.mu.Lock()
	x.statuses++
	x.mu.Unlock()
	return x.Executor.Status(ctx, h)
}

func (x *recExec) StatusBatch(ctx context.Context, hs []wes.Handle) ([]wes.JobStatus, error) {
	x.mu.Lock()
	x.batches = append(x.batches, len(hs))
	x.mu.Unlock()
	return x.Executor.StatusBatch(ctx, hs)
}

func (x *recExec) Cancel(ctx context.Context, h wes.Handle) error {
	x.mu.Lock()
	x.cancels++
	err := x.cancelErr
	x.cancelErr = nil
	x.mu.Unlock()
	if err != nil {
		return err
	}
	return x.Executor.Cancel(ctx, h)
}

func (x *recExec) Cleanup(ctx context.Context, h wes.Handle) error {
	x.mu.Lock()
	cerr := x.cleanupErr
	x.cleanupErr = nil
	x.mu.Unlock()
	if cerr != nil {
		return cerr
	}
	st, err := x.Executor.Status(ctx, h)
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.cleaned[jobID(h)] = st.State
	x.mu.Unlock()
	return x.Executor.Cleanup(ctx, h)
}

// counts returns submits, single statuses, batch sizes and cancels so far.
func (x *recExec) counts() (submits, statuses int, batches []int, cancels int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.submits, x.statuses, slices.Clone(x.batches), x.cancels
}

// cleanedState returns the state a job had when the runner cleaned it up ("" if never).
func (x *recExec) cleanedState(id string) wes.JobState {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.cleaned[id]
}

func jobID(h wes.Handle) string {
	var d struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(h.Data, &d)
	return d.ID
}

// plainExec is recExec without StatusBatch, for the reconciler's one-by-one path.
type plainExec struct{ x *recExec }

func (p plainExec) Name() string { return p.x.Name() }
func (p plainExec) Submit(ctx context.Context, j *wes.Job) (wes.Handle, error) {
	return p.x.Submit(ctx, j)
}
func (p plainExec) Status(ctx context.Context, h wes.Handle) (wes.JobStatus, error) {
	return p.x.Status(ctx, h)
}
func (p plainExec) Cancel(ctx context.Context, h wes.Handle) error  { return p.x.Cancel(ctx, h) }
func (p plainExec) Cleanup(ctx context.Context, h wes.Handle) error { return p.x.Cleanup(ctx, h) }

// bareExec is recExec with only the methods every executor has.
type bareExec struct{ x *recExec }

func (b bareExec) Name() string { return b.x.Name() }
func (b bareExec) Submit(ctx context.Context, j *wes.Job) (wes.Handle, error) {
	return b.x.Submit(ctx, j)
}
func (b bareExec) Status(ctx context.Context, h wes.Handle) (wes.JobStatus, error) {
	return b.x.Status(ctx, h)
}
func (b bareExec) Cancel(ctx context.Context, h wes.Handle) error { return b.x.Cancel(ctx, h) }

// step is one dispatched lifecycle step.
type step struct{ typ, id string }

// recDispatcher records the steps the runner enqueues; tests run them by hand.
type recDispatcher struct {
	mu    sync.Mutex
	steps []step
}

func (d *recDispatcher) add(typ, id string) error {
	d.mu.Lock()
	d.steps = append(d.steps, step{typ, id})
	d.mu.Unlock()
	return nil
}

func (d *recDispatcher) Start(_ context.Context, id string) error    { return d.add("start", id) }
func (d *recDispatcher) Cancel(_ context.Context, id string) error   { return d.add("cancel", id) }
func (d *recDispatcher) Finalize(_ context.Context, id string) error { return d.add("finalize", id) }

// take returns the steps recorded since the last take, sorted.
func (d *recDispatcher) take() []step {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.steps
	d.steps = nil
	slices.SortFunc(s, func(a, b step) int { return strings.Compare(a.typ+a.id, b.typ+b.id) })
	return s
}

// env is a Runner on the real test Redis with the fake executor and the test engine.
type env struct {
	r       *runner.Runner
	store   *redisstore.Store
	ex      *recExec
	engine  *testEngine
	disp    *recDispatcher // nil when a test brings its own dispatcher
	clock   *clock
	dataDir string
	prefix  string     // of every key the env's store and audit trail write
	fakeDir string     // the fake executor's job records
	audit   *audit.Log // nil unless withAudit
	// What newRunner builds another Runner from, as another worker would have.
	cfg      runner.Config
	dispatch wes.Dispatcher
	execs    *executors.Registry
}

type envOption func(*runner.Config, *envSetup)

type envSetup struct {
	dispatch  wes.Dispatcher
	noBatch   bool
	noCleanup bool
	audit     bool
}

// withoutCleanup gives the runner the fake executor without its Cleanup (nor StatusBatch).
func withoutCleanup() envOption {
	return func(_ *runner.Config, s *envSetup) { s.noCleanup = true }
}

// withAudit gives the runner the real audit trail on the test Redis (env.audit).
func withAudit() envOption {
	return func(_ *runner.Config, s *envSetup) { s.audit = true }
}

func withConfig(f func(*runner.Config)) envOption {
	return func(c *runner.Config, _ *envSetup) { f(c) }
}

func withDispatcher(d wes.Dispatcher) envOption {
	return func(_ *runner.Config, s *envSetup) { s.dispatch = d }
}

func withoutBatch() envOption {
	return func(_ *runner.Config, s *envSetup) { s.noBatch = true }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	c := testutil.Redis(t)
	prefix := testutil.UniqueName("enclave-runner-test-") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, err := c.Keys(ctx, prefix+"*").Result(); err == nil && len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	e := &env{store: redisstore.New(c, redisstore.Options{Prefix: prefix}), clock: &clock{}, dataDir: t.TempDir(),
		prefix: prefix, fakeDir: filepath.Join(t.TempDir(), "fake")}
	fx, err := fake.New(fake.Config{Dir: e.fakeDir, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.ex = &recExec{Executor: fx, cleaned: map[string]wes.JobState{}}
	e.engine = &testEngine{}
	cfg := runner.Config{DataDir: e.dataDir, Now: e.clock.Now, StuckAfter: 30 * time.Second}
	var setup envSetup
	for _, o := range opts {
		o(&cfg, &setup)
	}
	if setup.dispatch == nil {
		e.disp = &recDispatcher{}
		setup.dispatch = e.disp
	}
	if setup.audit {
		e.audit = audit.New(c, audit.Options{Prefix: prefix})
		cfg.Audit = e.audit
	}
	var ex wes.Executor = e.ex
	switch {
	case setup.noCleanup:
		ex = bareExec{e.ex}
	case setup.noBatch:
		ex = plainExec{e.ex}
	}
	e.cfg, e.dispatch, e.execs = cfg, setup.dispatch, executors.NewRegistry(ex)
	e.r = e.newRunner(t, nil)
	return e
}

// newRunner returns another Runner on the env's store, executor, engine and audit trail,
// as another worker has; failpoint (nil: none) is called at each of its failpoints.
func (e *env) newRunner(t *testing.T, failpoint func(string)) *runner.Runner {
	t.Helper()
	r, err := runner.New(e.cfg, e.store, e.dispatch, e.execs, engines.NewRegistry(e.engine))
	if err != nil {
		t.Fatal(err)
	}
	if failpoint != nil {
		runner.SetFailpoint(r, failpoint)
	}
	return r
}

// newRun stores a QUEUED run, as the API does, whose job is the fake argv; mods change
// the run before it is stored.
func (e *env) newRun(t *testing.T, argv []string, mods ...func(*wes.Run)) string {
	t.Helper()
	params, _ := json.Marshal(map[string]any{"argv": argv})
	id := testutil.UniqueName("run-")
	run := &wes.Run{
		ID: id, Owner: "alice", State: wes.StateQueued,
		Request:  wes.RunRequest{WorkflowParams: params, WorkflowType: "TEST", WorkflowTypeVersion: "1", WorkflowURL: "main.wf"},
		Engine:   engineName,
		Executor: fake.Name,
		WorkDir:  wes.LayoutFor(e.dataDir, id).WorkDir(),
	}
	for _, m := range mods {
		m(run)
	}
	if err := e.store.Create(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) get(t *testing.T, id string) *wes.Run {
	t.Helper()
	run, err := e.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func (e *env) update(t *testing.T, id string, fn func(*wes.Run)) {
	t.Helper()
	if _, err := e.store.Update(context.Background(), id, func(r *wes.Run) error { fn(r); return nil }); err != nil {
		t.Fatal(err)
	}
}

// requestCancel does what the API's cancel endpoint stores (it then enqueues run:cancel).
func (e *env) requestCancel(t *testing.T, id string) {
	t.Helper()
	e.update(t, id, func(r *wes.Run) { r.CancelRequested = true; r.State = wes.StateCanceling })
}

// jobs counts the jobs the fake executor created for a run (its append=runs.txt lines).
func (e *env) jobs(t *testing.T, id string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(wes.LayoutFor(e.dataDir, id).WorkDir(), "runs.txt"))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for s := bufio.NewScanner(f); s.Scan(); {
		n++
	}
	return n
}

// jobState is the fake's own view of a run's job (not counted as a runner call).
func (e *env) jobState(t *testing.T, h *wes.Handle) wes.JobState {
	t.Helper()
	if h == nil {
		t.Fatal("the run has no handle")
	}
	st, err := e.ex.Executor.Status(context.Background(), *h)
	if err != nil {
		t.Fatal(err)
	}
	return st.State
}

// hasLog reports whether one of the run's system logs contains sub.
func hasLog(run *wes.Run, sub string) bool {
	return slices.ContainsFunc(run.Log.SystemLogs, func(s string) bool { return strings.Contains(s, sub) })
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
