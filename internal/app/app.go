// Package app assembles Enclave from its configuration: the store, the queue, the
// engines, the executors, the runner, the HTTP API and the worker. cmd/enclave and the
// end-to-end tests start it the same way, on any address including port 0.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/auth"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/builtin"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/nextflow"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/httpapi"
	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/notify"
	"github.com/spe4hd/enclave/pkg/queue"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/runs"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Version is Enclave's version, set at link time (-X).
var Version = "dev"

// Roles selects what one process runs.
type Roles struct {
	API    bool // the WES HTTP API
	Worker bool // the queue worker and the reconciler
}

// App is a running Enclave process.
type App struct {
	cfg   config.Config
	roles Roles
	log   *slog.Logger

	mini     *miniredis.Miniredis    // the embedded store, when no Redis is configured
	ropt     *redis.UniversalOptions // how rdb and the queue reach Redis (redis.go)
	rdb      redis.UniversalClient
	store    *redisstore.Store
	dispatch *queue.Client
	engines  *engines.Registry
	execs    *executors.Registry
	runner   *runner.Runner
	ckpt     *audit.Checkpointer // nil unless audit.checkpoint is on (worker role only)
	zone     *zone
	worker   *queue.Worker

	// notifier queues notices (nil: notifications off); notifyWorker delivers them.
	notifier     *notify.Notifier
	notifyWorker *notify.Worker

	listener net.Listener
	srv      *http.Server
	up       startup // how far Run has come (see Ready)

	authn      *auth.Authenticator // nil unless auth.mode is oidc (API role)
	metrics    *metrics.Registry   // metrics.go
	metricsLn  net.Listener        // metrics.addr's listener, nil without one
	metricsSrv *http.Server
	readiness  readiness // the cached readiness checks (readiness.go)
}

// New builds every part the roles need and opens the listener (so Addr is known), but
// starts nothing that runs work: Run does. It does not need Redis to answer yet (Run
// waits for it), except to audit a catalogue it refuses.
func New(ctx context.Context, cfg config.Config, roles Roles, log *slog.Logger) (a *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Embedded() && roles.API && !roles.Worker {
		return nil, errors.New("worker.in_process: the embedded store (no redis.addr) needs the worker in the server process")
	}
	a = &App{cfg: cfg, roles: roles, log: log, up: newStartup()}
	built := a // the error returns below set a to nil
	defer func() {
		if err != nil {
			built.closeBackends()
		}
	}()
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	a.cfg.DataDir = dataDir
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}

	ropt := redisOptions(cfg.Redis, cfg.Redis.Addr)
	if cfg.Embedded() {
		a.mini = miniredis.NewMiniRedis()
		a.mini.ClockTTL(true) // expire keys by the wall clock, as Redis does (asynq's heartbeats)
		if err := a.mini.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("embedded store: %w", err)
		}
		ropt = redisOptions(config.RedisConfig{}, a.mini.Addr())
		log.Warn("no redis.addr configured: runs are kept in an in-process store and are lost when the server stops")
	}
	a.ropt = ropt
	a.rdb = redis.NewUniversalClient(ropt)
	asynqOpt := asynqOpt(ropt)

	a.store = redisstore.New(a.rdb, redisstore.Options{Prefix: cfg.Redis.KeyPrefix})
	a.dispatch = queue.NewClient(asynqOpt, cfg.Redis.Queue)
	a.buildMetrics()
	a.engines = newEngines(cfg, log)
	a.engines.SetProbes(engineProbes(cfg))
	if err := a.buildZone(ctx); err != nil {
		return nil, err
	}
	if err := a.buildNotify(asynqOpt); err != nil {
		return nil, err
	}

	if roles.Worker {
		if err := a.buildWorker(ctx, asynqOpt); err != nil {
			return nil, err
		}
	}
	if roles.API {
		if err := a.buildAPI(ctx); err != nil {
			return nil, err
		}
	}
	if err := a.listenMetrics(); err != nil {
		return nil, err
	}
	return a, nil
}

func newEngines(cfg config.Config, log *slog.Logger) *engines.Registry {
	e := cfg.Engines
	return builtin.Engines(builtin.Config{
		Snakemake: snakemake.Config{Binary: e.Snakemake.Binary, Versions: e.Snakemake.Versions, DefaultCores: e.Snakemake.DefaultCores},
		Cwltool:   cwl.Config{Binary: e.Cwltool.Binary, Versions: e.Cwltool.Versions, Containers: e.Cwltool.UseContainers},
		Nextflow:  nextflow.Config{Binary: e.Nextflow.Binary, Versions: e.Nextflow.Versions},
	}, log)
}

func (a *App) buildWorker(ctx context.Context, opt asynq.RedisConnOpt) error {
	execs, err := a.cfg.Executor.Open(ctx, a.cfg.ExecutorEnv(a.log)) // the executors package lists the built-in ones
	if err != nil {
		return err
	}
	a.execs = execs
	w := a.cfg.Worker
	a.runner, err = runner.New(runner.Config{
		DataDir: a.cfg.DataDir, MaxStartAttempts: w.MaxStartAttempts, ReconcileInterval: w.ReconcileInterval,
		Logger: a.log, Catalog: a.zone.catalog, Results: a.zone.results, Audit: a.zone.audit, Egress: a.zone.limits,
		Retention: a.cfg.Zone.Retention, RetentionInterval: a.cfg.Zone.RetentionInterval,
		Admission: a.store.Admission(), MaxRunning: a.cfg.MaxRunning(),
		Lease:  a.store.Lease("reconciler"), // one worker reconciles; LeaseTTL: 3 reconcile intervals
		Notify: a.notices(), Metrics: a.metrics,
	}, a.store, a.dispatch, execs, a.engines)
	if err != nil {
		return err
	}
	if a.ckpt, err = a.newCheckpointer(); err != nil {
		return err
	}
	a.worker = queue.NewWorker(opt, queue.WorkerConfig{
		Queue: a.cfg.Redis.Queue, Concurrency: w.Concurrency, TaskCheckInterval: w.TaskCheckInterval,
		TaskTimeout: w.StepTimeout, Logger: a.log.With("component", "worker"),
	}, timedSteps{a.runner, a.metrics})
	return nil
}

// maxRunning is the max_running of each enabled executor that has one.
func (a *App) maxRunning() map[string]int {
	out := map[string]int{}
	all := a.cfg.MaxRunning()
	for _, name := range a.cfg.EnabledExecutors() {
		if n := all[name]; n > 0 {
			out[name] = n
		}
	}
	return out
}

// confinement says how each executor confines jobs, for service-info: the executors of
// this process's worker, or, without one, the local executor as this machine would run
// it (the other executors describe nothing without being built).
func (a *App) confinement() map[string]wes.Confinement {
	out := map[string]wes.Confinement{}
	if a.execs != nil {
		for _, n := range a.execs.Names() {
			if ex, err := a.execs.Get(n); err == nil {
				if d, ok := ex.(wes.ConfinementDescriber); ok {
					out[n] = d.Confinement()
				}
			}
		}
		return out
	}
	lcfg, err := a.cfg.Executor.Local.Config(a.cfg.ExecutorEnv(a.log))
	if err == nil {
		out[local.Name], err = local.Describe(lcfg)
	}
	if err != nil {
		a.log.Warn("cannot describe the local executor's confinement for service-info", "err", err)
		delete(out, local.Name)
	}
	return out
}

func (a *App) buildAPI(ctx context.Context) error {
	s, si := a.cfg.Server, a.cfg.ServiceInfo
	authenticate, authenticator, err := newAuthenticate(ctx, a.cfg.Auth, a.log)
	if err != nil {
		return err
	}
	a.authn = authenticator
	checkers, err := a.cfg.Executor.SubmitCheckers(a.cfg.ExecutorEnv(a.log))
	if err != nil {
		return err
	}
	svc, err := runs.New(runs.Config{
		DataDir: a.cfg.DataDir, DefaultExecutor: a.cfg.Executor.Default, Mode: a.cfg.Zone.Mode,
		OutputURLTTL: a.cfg.Zone.OutputURLTTL, PresignedURLs: a.cfg.Zone.Results.PresignedURLs,
		EgressLimits: a.zone.limits, IdempotencyWindow: s.IdempotencyWindow,
	}, runs.Deps{Store: a.store, Idempotency: a.store, Admission: a.store.Admission(), Dispatcher: a.dispatch,
		Engines: a.engines, Logger: a.log.With("component", "api"), Catalog: a.zone.catalog, Results: a.zone.results,
		Audit: a.zone.audit, AuditLog: a.zone.audit, SubmitCheckers: checkers, TaskURI: taskURI, Notify: a.notices(), LogReader: a.logReader(), Metrics: a.metrics})
	if err != nil {
		return err
	}
	h, err := httpapi.New(httpapi.Config{
		PublicURL:       s.PublicURL,
		DefaultPageSize: s.DefaultPageSize, MaxPageSize: s.MaxPageSize, MaxParts: s.MaxParts,
		MaxAttachmentBytes: int64(s.MaxAttachmentBytes), MaxRequestBytes: int64(s.MaxRequestBytes),
		ServiceInfo: httpapi.ServiceInfo{
			ID: si.ID, Name: si.Name, Description: si.Description,
			OrganizationName: si.Organization.Name, OrganizationURL: si.Organization.URL,
			ContactURL: si.ContactURL, DocumentationURL: si.DocumentationURL, Environment: si.Environment,
			Version: Version, AuthInstructionsURL: si.AuthInstructionsURL,
			Confinement: a.confinement(), MaxRunning: a.maxRunning(),
		},
		AuthMode: a.cfg.Auth.Mode,
	}, httpapi.Deps{Runs: svc, Authenticate: authenticate, Logger: a.log.With("component", "api"), Metrics: a.metrics})
	if err != nil {
		return err
	}
	web, err := a.buildPortal(svc, authenticator)
	if err != nil {
		return err
	}
	a.listener, err = net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("server.addr: %w", err)
	}
	a.srv = &http.Server{Handler: a.handler(h, web), ReadHeaderTimeout: s.ReadHeaderTimeout}
	return nil
}

// Addr is the address the API listens on ("" without the API role).
func (a *App) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// Run serves until ctx ends. It starts in this order: the HTTP listener (until start-up
// is over, /readyz and /healthz answer at once and other requests wait for it, see
// handler), the engines' version discovery (in the background, retried until each
// engine answers), waiting for Redis (down or still loading: retried with backoff for
// redis.startup_timeout), the catalogue load's audit event, the worker, the reconciler,
// the retention sweeper and the audit checkpointer; start-up is over once every engine
// has had its first check too. It shuts down in this order: stop taking HTTP requests
// (in-flight ones get server.shutdown_timeout), stop the reconciler, the retention
// sweeper, the checkpointer and discovery, let the worker finish or hand back its
// in-flight steps, then close the queue client and the store. Running jobs are not
// touched: they belong to the executor and the next worker re-attaches.
func (a *App) Run(ctx context.Context) error {
	defer a.closeBackends()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	bg, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()

	if a.srv != nil {
		go func() {
			if err := a.srv.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	a.serveMetricsListener(errc)
	checked, discovered := a.engines.Watch(bg, a.log, engines.WatchConfig{MaxRetry: a.cfg.Engines.DiscoveryRetryMax})

	err := a.start(ctx, bg, &wg, checked)
	if err == nil {
		a.up.finish()
		a.reloadCatalogOnSIGHUP(ctx)
		if a.srv != nil {
			a.log.Info("WES API listening", "addr", "http://"+a.Addr()+"/ga4gh/wes/v1")
		}
		if ok, waiting := a.Ready(); !ok {
			a.log.Warn("started, but not ready", "waiting_for", waiting)
		}
		select {
		case <-ctx.Done():
		case err = <-errc:
		}
	} else if ctx.Err() != nil {
		err = nil // stopped while starting: not a failure
	}
	a.log.Info("shutting down")
	close(a.up.stopC)
	if a.srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.ShutdownTimeout)
		if e := a.srv.Shutdown(sctx); e != nil {
			a.log.Warn("HTTP shutdown", "err", e)
		}
		cancel()
	}
	a.shutdownMetricsListener(context.Background())
	stopBackground()
	wg.Wait()
	<-discovered
	if a.worker != nil {
		a.worker.Shutdown()
	}
	if a.notifyWorker != nil { // after the worker: its last steps may still queue notices
		a.notifyWorker.Shutdown()
	}
	return err
}

// start waits for Redis, audits the catalogue load, starts the worker and its
// background loops (on bg, counted in wg), and waits until every engine has had its
// first check.
func (a *App) start(ctx, bg context.Context, wg *sync.WaitGroup, checked <-chan struct{}) error {
	if err := a.waitRedis(ctx); err != nil {
		return err
	}
	if z := a.zone; z.catalog != nil {
		auditCatalog(ctx, z.catalog, a.cfg.Zone.Catalog, z.audit, a.log)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Runs stored by an older version join the filtered lists' indexes (once).
		if n, err := a.store.Reindex(bg); err != nil {
			a.log.Warn("indexing stored runs for filtered lists failed; it is tried again at the next start", "err", err)
		} else if n > 0 {
			a.log.Info("indexed stored runs for filtered lists", "runs", n)
		}
	}()
	if a.worker != nil {
		if err := a.worker.Start(); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		if a.notifyWorker != nil {
			if err := a.notifyWorker.Start(); err != nil {
				return fmt.Errorf("notifications worker: %w", err)
			}
		}
		a.up.worker.Store(true)
		wg.Add(1)
		go func() { defer wg.Done(); a.runner.RunReconciler(bg) }()
		wg.Add(1)
		go func() { defer wg.Done(); a.runner.RunStraySweep(bg) }()
		if a.cfg.Zone.Retention > 0 {
			wg.Add(1)
			go func() { defer wg.Done(); a.runner.RunRetention(bg) }()
		}
		if a.ckpt != nil {
			wg.Add(1)
			go func() { defer wg.Done(); a.ckpt.Run(bg) }()
		}
		a.log.Info("worker started", "queue", a.cfg.Redis.Queue, "concurrency", a.cfg.Worker.Concurrency)
	}
	select {
	case <-checked:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (a *App) closeBackends() {
	if a.execs != nil { // SSH connections, Docker clients
		for _, name := range a.execs.Names() {
			if ex, err := a.execs.Get(name); err == nil {
				if c, ok := ex.(interface{ Close() error }); ok {
					_ = c.Close()
				}
			}
		}
	}
	if a.zone != nil {
		for _, c := range a.zone.closers {
			c()
		}
	}
	if a.dispatch != nil {
		_ = a.dispatch.Close()
	}
	if a.notifier != nil {
		_ = a.notifier.Close()
	}
	if a.rdb != nil {
		_ = a.rdb.Close()
	}
	if a.listener != nil && a.srv == nil {
		_ = a.listener.Close()
	}
	if a.mini != nil {
		a.mini.Close()
	}
}
