package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/runs"
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
)

// Config is what the HTTP layer needs to know about the deployment. Zero values get the
// defaults named in each comment.
type Config struct {
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
	// AuthMode is "none" or "oidc" (default "none"); shown in service-info tags. "oidc"
	// requires Deps.Authenticate.
	AuthMode string
}

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
	// Runs is the run service every operation goes through. Required.
	Runs *runs.Service
	// Authenticate returns the caller of a request. Errors with code EUNAUTHORIZED or
	// EFORBIDDEN become 401/403. nil means authentication is off: every caller is
	// wes.Anonymous.
	Authenticate func(*http.Request) (*wes.Principal, error)
	Logger       *slog.Logger
	// Metrics records requests by operation and authentication failures; nil records
	// nothing.
	Metrics *metrics.Registry
}

// server implements api.StrictServerInterface.
type server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	runs *runs.Service
	gin  *gin.Engine // for re-routing output downloads written with plain slashes

	// What requestContext looks up rather than builds per request (middleware.go).
	routeNames map[routeKey]string
	operations map[routeKey]string // OpenAPI operationId by route (metrics.go)
	publicBase any                 // PublicURL + BasePath, boxed; nil without a PublicURL
}

var _ api.StrictServerInterface = (*server)(nil)

// New returns the HTTP handler of the WES API: a gin engine in release mode with the API
// under BasePath and GET /healthz. It checks cfg and deps and fills in defaults.
func New(cfg Config, deps Deps) (http.Handler, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	switch {
	case deps.Runs == nil:
		return nil, errors.New("httpapi: Deps.Runs is required")
	case cfg.AuthMode == "oidc" && deps.Authenticate == nil:
		// Without an authenticator every caller would be the anonymous administrator.
		return nil, errors.New("httpapi: AuthMode oidc needs Deps.Authenticate")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, deps: deps, runs: deps.Runs, log: deps.Logger.With("component", "httpapi")}
	if cfg.PublicURL != "" {
		s.publicBase = cfg.PublicURL + BasePath
	}
	return s.engine()
}

func (c *Config) setDefaults() error {
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
	if c.AuthMode == "" {
		c.AuthMode = "none"
	}
	if c.AuthMode != "none" && c.AuthMode != "oidc" {
		return fmt.Errorf("httpapi: Config.AuthMode %q must be none or oidc", c.AuthMode)
	}
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
// error rendering → access log; then, on the API group, metrics (observe) → request context (principal,
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
	e.NoRoute(s.outputPathFallback, s.observe, s.noRoute)
	e.NoMethod(s.observe, s.noMethod)
	e.GET("/healthz", s.observe, func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	ops, err := operationIDs()
	if err != nil {
		return nil, err
	}
	s.operations = ops

	v, err := newValidator()
	if err != nil {
		return nil, err
	}
	g := e.Group(BasePath, s.observe, s.requestContext, v.middleware(s), s.checkSubmitBody, s.checkJSONBody)
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
	s.routeNames = routeNames(e)
	return e, nil
}
