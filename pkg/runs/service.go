// Package runs is Enclave's run service: the one place where the operations on runs are
// decided — submit, read, list, cancel, delete, outputs, review, download, tasks, logs —
// together with the catalogue and audit-trail views the faces show. Each operation takes
// the caller's wes.Principal and returns domain values and wes.Errors; authorization,
// usage policy, validation and audit happen here, once. The faces (the HTTP API in
// pkg/httpapi, the portal) only translate requests into these calls and the answers back.
package runs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Modes of Config.Mode.
const (
	ModeOpen   = "open"
	ModeSealed = "sealed"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultExecutor          = "local"
	DefaultOutputURLTTL      = 15 * time.Minute
	DefaultIdempotencyWindow = 24 * time.Hour
)

// Config is what the service needs to know about the deployment.
type Config struct {
	// DataDir is the data directory inside the zone; a run's files live under
	// wes.LayoutFor(DataDir, id). Required.
	DataDir string
	// DefaultExecutor is stored on each new run (wes.Run.Executor). Default "local".
	DefaultExecutor string
	// Mode is ModeOpen (default: plain WES, attachments and any attached workflow) or
	// ModeSealed (runs name a catalogue workflow; attachments are refused; only
	// allow-listed, released outputs are shown). ModeSealed requires Deps.Catalog and
	// Deps.Results.
	Mode string
	// PresignedURLs lets output views carry the result store's presigned URLs (valid
	// OutputURLTTL), each audited when it is issued; what is then fetched with one is not
	// audited. Default false: every download goes through Download, which audits each one.
	PresignedURLs bool
	// OutputURLTTL is how long presigned download URLs live. Default 15 minutes.
	OutputURLTTL time.Duration
	// EgressLimits are the deployment's output limits (zero fields: egress.DefaultLimits);
	// approving held outputs re-checks them. Use the runner's value.
	EgressLimits egress.Limits
	// IdempotencyWindow is how long a submission's idempotency key is remembered (with
	// Deps.Idempotency). Default 24 hours.
	IdempotencyWindow time.Duration
}

// Deps are the collaborators of the service.
type Deps struct {
	Store      wes.RunStore
	Dispatcher wes.Dispatcher
	Engines    *engines.Registry
	// Idempotency remembers the idempotency key of each owner's submissions; nil
	// ignores keys (every submission makes a new run).
	Idempotency wes.IdempotencyStore
	// Admission counts the runs holding and waiting for executor slots; nil shows none.
	Admission wes.Admission
	// Catalog is the sealed zone's catalogue of validated workflows, datasets and usage
	// policy. Required in ModeSealed; in ModeOpen it only feeds the catalogue views.
	Catalog *catalog.Holder
	// Results keeps released outputs (downloads, approvals, deletions). Required in
	// ModeSealed.
	Results wes.ResultStore
	// Audit records submissions, refusals, downloads, reviews, cancels and deletions.
	// nil records nothing.
	Audit wes.Auditor
	// Notify is told of review decisions and releases (notify.go); nil tells no one.
	Notify wes.Notifier
	// AuditLog serves the audit queries and exports to administrators; nil: none. It
	// is usually the same *audit.Log as Audit.
	AuditLog *audit.Log
	// SubmitCheckers check a new run's owner and executor parameters for the executor
	// it will use, by executor name (wes.SubmitChecker); an executor without one accepts
	// every run here and decides at Submit.
	SubmitCheckers map[string]wes.SubmitChecker
	// TaskURI, when set, gives the backend's URI of a run's job from its Handle (the TES
	// task a run ran as); it becomes the tes_uri of the run's tasks that have none.
	TaskURI func(wes.Handle) string
	// LogReader, when set, gives the executor of that name if it reads a running job's
	// log from its backend (wes.LogReader: Docker, Kubernetes, TES), else nil: the live
	// view of a log that reaches the work directory only when the job ends.
	LogReader func(executor string) wes.LogReader
	Logger    *slog.Logger
	// Metrics counts the egress decisions of approvals; nil counts nothing.
	Metrics *metrics.Registry
}

// Service is the run service. It is safe for concurrent use.
type Service struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	// How many refusals are audited: per user for run ids not theirs, per source
	// address for refused tokens (see refusalLimiter).
	runRefusals, authRefusals refusalLimiter
	// How many reads of engine logs are audited, per caller, run and stream: a client
	// following a log reads it every second.
	logReads refusalLimiter
}

// New checks cfg and deps, fills in defaults and returns the service.
func New(cfg Config, deps Deps) (*Service, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("runs: Config.DataDir is required")
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("runs: Config.DataDir: %w", err)
	}
	cfg.DataDir = abs
	if cfg.DefaultExecutor == "" {
		cfg.DefaultExecutor = DefaultExecutor
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeOpen
	}
	if cfg.Mode != ModeOpen && cfg.Mode != ModeSealed {
		return nil, fmt.Errorf("runs: Config.Mode %q must be open or sealed", cfg.Mode)
	}
	if cfg.OutputURLTTL < 0 {
		return nil, fmt.Errorf("runs: Config.OutputURLTTL %s must not be negative", cfg.OutputURLTTL)
	}
	if cfg.OutputURLTTL == 0 {
		cfg.OutputURLTTL = DefaultOutputURLTTL
	}
	if cfg.IdempotencyWindow == 0 {
		cfg.IdempotencyWindow = DefaultIdempotencyWindow
	}
	switch {
	case deps.Store == nil:
		return nil, errors.New("runs: Deps.Store is required")
	case deps.Dispatcher == nil:
		return nil, errors.New("runs: Deps.Dispatcher is required")
	case deps.Engines == nil:
		return nil, errors.New("runs: Deps.Engines is required")
	case cfg.Mode == ModeSealed && deps.Catalog == nil:
		return nil, errors.New("runs: Mode sealed needs Deps.Catalog")
	case cfg.Mode == ModeSealed && deps.Results == nil:
		return nil, errors.New("runs: Mode sealed needs Deps.Results")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, deps: deps, log: deps.Logger.With("component", "runs")}, nil
}

// Sealed reports whether the service runs the sealed zone.
func (s *Service) Sealed() bool { return s.cfg.Mode == ModeSealed }

// Mode is ModeOpen or ModeSealed.
func (s *Service) Mode() string { return s.cfg.Mode }

// DefaultExecutor is the executor new runs use.
func (s *Service) DefaultExecutor() string { return s.cfg.DefaultExecutor }

// dispatchTimeout bounds a call to the Dispatcher after the run's state is stored, and the
// work a request finishes after its client has gone.
const dispatchTimeout = 10 * time.Second

// requestKey carries a description of the request an operation serves ("GET
// /runs/{run_id}") for the audit events of refusals.
type requestKey struct{}

// WithRequest returns ctx carrying the face's description of the request (method and
// route template, never the ids in it), which refusal audit events record.
func WithRequest(ctx context.Context, route string) context.Context {
	return context.WithValue(ctx, requestKey{}, route)
}

func addRequest(ctx context.Context, d map[string]string) {
	if r, ok := ctx.Value(requestKey{}).(string); ok && r != "" {
		d["request"] = r
	}
}

// truncate clips s to at most n bytes, for echoing client input.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// errUnauthenticated answers an operation that has no caller.
var errUnauthenticated = wes.Errorf(wes.EUNAUTHORIZED, "authentication required: send a bearer token in the Authorization header")

// OwnerFilter is the owner whose runs p may list or count: "" (everyone) for
// administrators and data controllers.
func OwnerFilter(p *wes.Principal) string {
	if p.SeesAllRuns() {
		return ""
	}
	return p.Subject
}
