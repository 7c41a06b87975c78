// Package runner carries a run through its lifecycle in short, idempotent steps — start,
// reconcile, finalize, cancel — so that no worker ever waits for a workflow to finish and a
// worker killed at any moment loses nothing: the next one re-attaches through the stored
// Handle. It depends on pkg/wes, and for runs of the sealed zone's catalogue on
// pkg/catalog (pinned workflow files, dataset paths) and pkg/egress (what may leave).
package runner

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Executors finds an executor by name (executors.Registry satisfies it).
type Executors interface {
	Get(name string) (wes.Executor, error)
}

// Engines finds an engine by name (engines.Registry satisfies it).
type Engines interface {
	ByName(name string) (wes.Engine, bool)
}

// Config tunes the runner.
type Config struct {
	// DataDir holds the runs' files (wes.LayoutFor). Required.
	DataDir string
	// MaxStartAttempts bounds how often a run's start step may be tried before the run
	// becomes SYSTEM_ERROR. Default 5.
	MaxStartAttempts int
	// ReconcileInterval is how often RunReconciler polls executors. Default 1s. An
	// executor whose backend cannot be reached is polled less and less often, up to
	// every 30 intervals, until it answers again.
	ReconcileInterval time.Duration
	// StuckAfter is how long a run may sit in QUEUED, INITIALIZING (without a job) or
	// CANCELING before the reconciler enqueues its step again. Enqueueing is idempotent,
	// and a step whose worker died is enqueued afresh (queue.Client), so this bounds how
	// soon such a step resumes. Default 10s.
	StuckAfter time.Duration
	Logger     *slog.Logger
	// Now returns the current time (tests). Default time.Now.
	Now func() time.Time

	// Catalog resolves the runs of catalogue workflows (wes.Run.Workflow set): their
	// pinned files, their params with dataset paths, their output policy. nil: such runs
	// end in SYSTEM_ERROR. Runs without Workflow never use it.
	Catalog *catalog.Holder
	// Results receives the released outputs of catalogue runs. nil: a catalogue run
	// whose workflow releases outputs automatically ends in SYSTEM_ERROR.
	Results wes.ResultStore
	// Audit records run state changes and every egress decision. nil records nothing.
	Audit wes.Auditor
	// Notify is told when a run ends (and of outputs held or released by its end), from
	// the run's outbox (notices.go). nil tells no one.
	Notify wes.Notifier
	// Egress are the deployment's output limits; zero fields use egress.DefaultLimits,
	// and a workflow's own limits win over both.
	Egress egress.Limits

	// Admission hands out executor slots; MaxRunning is each executor's number of them
	// (by executor name; absent or 0: no limit). Runs beyond it stay QUEUED in a line fair
	// across owners until a run of theirs ends (admission.go). Both unset: no limits.
	Admission  wes.Admission
	MaxRunning map[string]int

	// Retention is how long after it ended a run keeps its files and released outputs;
	// RunRetention then deletes them as DELETE /runs/{id} does. 0 keeps them for ever.
	Retention time.Duration
	// RetentionInterval is how often RunRetention sweeps. Default 1h.
	RetentionInterval time.Duration
	// RetentionBatch bounds how many runs one sweep deletes; the rest wait for the
	// next. Default 100.
	RetentionBatch int

	// Lease elects the one worker whose RunReconciler reconciles; the others stand by and
	// try to take the lease every ReconcileInterval (leader.go). nil: every worker
	// reconciles.
	Lease wes.Lease
	// LeaseTTL is how long the lease outlives its holder's last renewal: a standby takes
	// over within LeaseTTL plus one ReconcileInterval of the holder's death. It must be
	// longer than ReconcileInterval, which is how often the holder renews it. Default
	// three ReconcileIntervals.
	LeaseTTL time.Duration

	// Metrics times executor calls and reconcile passes; nil records nothing.
	Metrics *metrics.Registry
}

// Runner implements the lifecycle steps; queue.Handlers calls them.
type Runner struct {
	cfg       Config
	store     wes.RunStore
	dispatch  wes.Dispatcher
	executors Executors
	engines   Engines
	log       *slog.Logger
	backoff   backoffs           // executors the reconciler cannot reach (reconcile.go)
	id        string             // this runner as the holder of the Lease (leader.go)
	hungPass  time.Duration      // tests only: 0 means the constant hungPass (leader.go)
	failpoint func(point string) // tests only: see at (effects.go)
}

// New returns a Runner.
func New(cfg Config, store wes.RunStore, dispatch wes.Dispatcher, ex Executors, en Engines) (*Runner, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("runner: DataDir is required")
	}
	if cfg.MaxStartAttempts <= 0 {
		cfg.MaxStartAttempts = 5
	}
	if cfg.ReconcileInterval <= 0 {
		cfg.ReconcileInterval = time.Second
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 3 * cfg.ReconcileInterval
	}
	if cfg.LeaseTTL <= cfg.ReconcileInterval {
		return nil, fmt.Errorf("runner: LeaseTTL (%v) must be longer than ReconcileInterval (%v)", cfg.LeaseTTL, cfg.ReconcileInterval)
	}
	if cfg.StuckAfter <= 0 {
		cfg.StuckAfter = 10 * time.Second
	}
	if cfg.Retention < 0 {
		return nil, fmt.Errorf("runner: Retention must not be negative")
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = time.Hour
	}
	if cfg.RetentionBatch <= 0 {
		cfg.RetentionBatch = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics != nil {
		ex = observedExecutors{Executors: ex, m: cfg.Metrics}
	}
	return &Runner{cfg: cfg, store: store, dispatch: dispatch, executors: ex, engines: en,
		log: cfg.Logger.With("component", "runner"), id: holderID()}, nil
}

func (r *Runner) now() time.Time { return r.cfg.Now().UTC() }

// fail moves a run to a terminal error state with an Enclave message the owner may read.
func (r *Runner) fail(ctx context.Context, id string, state wes.State, msg string) error {
	changed := false
	var effects []string
	run, err := r.store.Update(ctx, id, func(run *wes.Run) error {
		changed, effects = false, nil // fn may run more than once
		if run.State.Terminal() {
			return nil
		}
		if run.Cancelling() {
			state = wes.StateCanceled
		}
		changed = true
		run.State = state
		run.EndTime = r.now()
		run.AddSystemLog(msg)
		effects = r.addStateEffects(run, msg, nil)
		return nil
	})
	if err == nil && changed {
		r.at("fail:stored")
		r.log.Info("run failed", "run_id", id, "state", state, "reason", msg)
		r.drainOwn(ctx, run, effects)
	}
	return err
}
