package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// BasePath is where the WES API is mounted.
const BasePath = "/ga4gh/wes/v1"

// Defaults applied by New to zero Config fields.
const (
	DefaultPageSize           = 50
	DefaultMaxPageSize        = 500
	DefaultMaxParts           = 1000
	DefaultMaxAttachmentBytes = 256 << 20 // 256 MiB per file
	DefaultMaxRequestBytes    = 1 << 30   // 1 GiB per POST /runs body
	DefaultExecutor           = "local"
)

// Config is what the HTTP layer needs to know about the deployment. Zero values get the
// defaults named in each comment.
type Config struct {
	// DataDir is the data directory inside the zone; a run's files live under
	// wes.LayoutFor(DataDir, id). Required.
	DataDir string
	// PublicURL is the external base URL clients reach the server at (e.g.
	// https://wes.example.org), used for the absolute URLs in responses. "" derives it
	// from each request's Host and scheme.
	PublicURL string
	// DefaultPageSize is used when a list request has no page_size. Default 50.
	DefaultPageSize int
	// MaxPageSize is the largest page_size accepted. Default 500.
	MaxPageSize int
	// MaxParts limits the multipart parts of one POST /runs. Default 1000.
	MaxParts int
	// MaxAttachmentBytes limits each workflow_attachment file. Default 256 MiB.
	MaxAttachmentBytes int64
	// MaxRequestBytes limits a whole POST /runs body. Default 1 GiB.
	MaxRequestBytes int64
	// ServiceInfo is what GET /service-info says about this deployment.
	ServiceInfo ServiceInfo
	// DefaultExecutor is stored on each new run (wes.Run.Executor). Default "local".
	DefaultExecutor string
	// AuthMode is "none" or "oidc" (default "none"); shown in service-info tags. "oidc"
	// requires Deps.Authenticate.
	AuthMode string
	// Mode is ModeOpen (default: plain WES, attachments and any attached workflow) or
	// ModeSealed (runs name a catalogue workflow; attachments are refused; only
	// allow-listed, released outputs are shown). ModeSealed requires Deps.Catalog and
	// Deps.Results.
	Mode string
	// PresignedURLs lets the output lists and RunLog.outputs hand out the result store's
	// presigned URLs (valid OutputURLTTL), each audited when it is issued; what is then
	// fetched with one is not audited. Default false: every download goes through
	// GET /runs/{id}/outputs/{path}, which audits each one.
	PresignedURLs bool
	// OutputURLTTL is how long the presigned download URLs of released outputs live.
	// Default 15 minutes.
	OutputURLTTL time.Duration
	// EgressLimits are the deployment's output limits (zero fields: egress.DefaultLimits);
	// approving held outputs re-checks them. Use the runner's value.
	EgressLimits egress.Limits
	// IdempotencyWindow is how long a POST /runs Idempotency-Key is remembered (with
	// Deps.Idempotency). Default 24 hours.
	IdempotencyWindow time.Duration
}

// Modes of Config.Mode.
const (
	ModeOpen   = "open"
	ModeSealed = "sealed"
)

// DefaultOutputURLTTL is the default Config.OutputURLTTL.
const DefaultOutputURLTTL = 15 * time.Minute

// ServiceInfo holds the GA4GH service-info fields an operator configures. Empty ID,
// Name, Version and organization fields get Enclave's defaults.
type ServiceInfo struct {
	ID                  string // reverse domain notation, default "org.spe4hd.enclave"
	Name                string // default "Enclave"
	Description         string
	OrganizationName    string // default "SPE4HD"
	OrganizationURL     string // default "https://github.com/spe4hd/enclave"
	ContactURL          string
	DocumentationURL    string
	Environment         string // e.g. prod, test, dev
	Version             string // Enclave's version, default "dev"
	CreatedAt           time.Time
	UpdatedAt           time.Time
	AuthInstructionsURL string
	Tags                map[string]string // extra tags; Enclave's own tags win on a clash
	// Confinement says, per executor name, how that executor confines jobs; shown as
	// executor_confinement. nil shows nothing.
	Confinement map[string]wes.Confinement
	// MaxRunning is the max_running of each enabled executor that has one (> 0); shown
	// as executor_admission, with Deps.Admission's counts for callers who see all runs.
	MaxRunning map[string]int
}

// Deps are the collaborators the handlers use.
type Deps struct {
	Store      wes.RunStore
	Dispatcher wes.Dispatcher
	Engines    *engines.Registry
	// Authenticate returns the caller of a request. Errors with code EUNAUTHORIZED or
	// EFORBIDDEN become 401/403. nil means authentication is off: every caller is
	// wes.Anonymous.
	Authenticate func(*http.Request) (*wes.Principal, error)
	Logger       *slog.Logger
	// Idempotency remembers the Idempotency-Key of each owner's submissions; nil
	// ignores the header (every POST /runs makes a new run).
	Idempotency wes.IdempotencyStore
	// Admission counts the runs holding and waiting for executor slots (service-info);
	// nil shows only the limits.
	Admission wes.Admission

	// Catalog is the sealed zone's catalogue of validated workflows, datasets and usage
	// policy. Required in ModeSealed; in ModeOpen it only feeds the /catalog endpoints.
	Catalog *catalog.Holder
	// Results keeps released outputs (downloads, approvals, deletions). Required in
	// ModeSealed.
	Results wes.ResultStore
	// Audit records submissions, refusals, downloads, reviews, cancels and deletions.
	// nil records nothing.
	Audit wes.Auditor
	// AuditLog serves GET /audit and /audit/export to administrators; nil answers 404.
	// It is usually the same *audit.Log as Audit.
	AuditLog *audit.Log
	// SubmitCheckers check a new run's owner and executor parameters for the executor
	// it will use, by executor name (wes.SubmitChecker); an executor without one accepts
	// every run here and decides at Submit.
	SubmitCheckers map[string]wes.SubmitChecker
	// TaskURI, when set, gives the backend's URI of a run's job from its Handle (the TES
	// task a run ran as); it becomes the tes_uri of the run's tasks that have none. ""
	// when the handle's backend has no such URI.
	TaskURI func(wes.Handle) string
}

// server implements api.StrictServerInterface.
type server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	gin  *gin.Engine // for re-routing output downloads written with plain slashes

	// How many refusals are audited: per user for run ids not theirs, per source
	// address for refused tokens (see refusalLimiter).
	runRefusals, authRefusals refusalLimiter
}

var _ api.StrictServerInterface = (*server)(nil)

// New returns the HTTP handler of the WES API: a gin engine in release mode with the API
// under BasePath and GET /healthz. It checks cfg and deps and fills in defaults.
func New(cfg Config, deps Deps) (http.Handler, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	switch {
	case deps.Store == nil:
		return nil, errors.New("httpapi: Deps.Store is required")
	case deps.Dispatcher == nil:
		return nil, errors.New("httpapi: Deps.Dispatcher is required")
	case deps.Engines == nil:
		return nil, errors.New("httpapi: Deps.Engines is required")
	case cfg.AuthMode == "oidc" && deps.Authenticate == nil:
		// Without an authenticator every caller would be the anonymous administrator.
		return nil, errors.New("httpapi: AuthMode oidc needs Deps.Authenticate")
	case cfg.Mode == ModeSealed && deps.Catalog == nil:
		return nil, errors.New("httpapi: Mode sealed needs Deps.Catalog")
	case cfg.Mode == ModeSealed && deps.Results == nil:
		return nil, errors.New("httpapi: Mode sealed needs Deps.Results")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, deps: deps, log: deps.Logger.With("component", "httpapi")}
	return s.engine()
}

func (c *Config) setDefaults() error {
	if c.DataDir == "" {
		return errors.New("httpapi: Config.DataDir is required")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("httpapi: Config.DataDir: %w", err)
	}
	c.DataDir = abs
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("httpapi: Config.PublicURL %q must be an http(s) URL without query or fragment", c.PublicURL)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	setInt(&c.DefaultPageSize, DefaultPageSize)
	setInt(&c.MaxPageSize, DefaultMaxPageSize)
	setInt(&c.MaxParts, DefaultMaxParts)
	setInt(&c.MaxAttachmentBytes, DefaultMaxAttachmentBytes)
	setInt(&c.MaxRequestBytes, DefaultMaxRequestBytes)
	switch {
	case c.DefaultPageSize < 1 || c.MaxPageSize < 1 || c.MaxParts < 1 || c.MaxAttachmentBytes < 1 || c.MaxRequestBytes < 1:
		return errors.New("httpapi: page sizes and multipart limits must be positive")
	case c.DefaultPageSize > c.MaxPageSize:
		return fmt.Errorf("httpapi: Config.DefaultPageSize %d is above MaxPageSize %d", c.DefaultPageSize, c.MaxPageSize)
	}
	if c.DefaultExecutor == "" {
		c.DefaultExecutor = DefaultExecutor
	}
	if c.AuthMode == "" {
		c.AuthMode = "none"
	}
	if c.AuthMode != "none" && c.AuthMode != "oidc" {
		return fmt.Errorf("httpapi: Config.AuthMode %q must be none or oidc", c.AuthMode)
	}
	setStr(&c.Mode, ModeOpen)
	if c.Mode != ModeOpen && c.Mode != ModeSealed {
		return fmt.Errorf("httpapi: Config.Mode %q must be open or sealed", c.Mode)
	}
	if c.OutputURLTTL < 0 {
		return fmt.Errorf("httpapi: Config.OutputURLTTL %s must not be negative", c.OutputURLTTL)
	}
	setInt(&c.OutputURLTTL, DefaultOutputURLTTL)
	setInt(&c.IdempotencyWindow, DefaultIdempotencyWindow)
	si := &c.ServiceInfo
	setStr(&si.ID, "org.spe4hd.enclave")
	setStr(&si.Name, "Enclave")
	setStr(&si.OrganizationName, "SPE4HD")
	setStr(&si.OrganizationURL, "https://github.com/spe4hd/enclave")
	setStr(&si.Version, "dev")
	return nil
}

func setInt[T int | int64 | time.Duration](p *T, def T) {
	if *p == 0 {
		*p = def
	}
}

func setStr(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

// engine builds the gin engine. Middleware order, outermost first: panic recovery →
// error rendering → access log; then, on the API group, request context (principal,
// base URL) → request validation against the spec → body guards (multipart for POST
// /runs, JSON elsewhere) → the generated wrapper. Unmatched GETs of an output path with
// plain slashes are re-routed to the download route (outputPathFallback).
func (s *server) engine() (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// Handlers get the gin context as their context.Context; with the fallback its
	// Value and Done reach the request's context (principal, cancellation).
	e.ContextWithFallback = true
	e.HandleMethodNotAllowed = true
	// Route on the escaped path, so an output path with its slashes written as %2F is one
	// path parameter (gin unescapes it for the handler).
	e.UseRawPath = true
	e.UnescapePathValues = true
	s.gin = e
	e.Use(s.recovery(), s.renderErrors, s.accessLog)
	e.NoRoute(s.outputPathFallback, s.noRoute)
	e.NoMethod(s.noMethod)
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })

	v, err := newValidator()
	if err != nil {
		return nil, err
	}
	g := e.Group(BasePath, s.requestContext, v.middleware(s), s.checkSubmitBody, s.checkJSONBody)
	strict := api.NewStrictHandlerWithOptions(s, nil, api.StrictGinServerOptions{
		RequestErrorHandlerFunc: func(c *gin.Context, err error) {
			if c.Request.Method == http.MethodPost && c.FullPath() == BasePath+"/runs" {
				s.abortWithError(c, wes.Errorf(wes.EINVALID,
					"the request body must be multipart/form-data with a boundary: %v", err))
				return
			}
			s.abortWithError(c, jsonBodyError(err))
		},
		HandlerErrorFunc:         s.abortWithError,
		ResponseErrorHandlerFunc: s.responseError,
	})
	api.RegisterHandlersWithOptions(g, strict, api.GinServerOptions{
		ErrorHandler: func(c *gin.Context, err error, _ int) {
			s.abortWithError(c, wes.Errorf(wes.EINVALID, "%v", err))
		},
	})
	return e, nil
}
