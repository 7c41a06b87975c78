package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// The tests describe a server as one configuration and one set of collaborators, the
// HTTP face's and the run service's together; newAPI builds the service and the face
// from them as internal/app does.

const (
	ModeOpen        = runs.ModeOpen
	ModeSealed      = runs.ModeSealed
	DefaultExecutor = runs.DefaultExecutor
)

type testConfig struct {
	// The run service's (runs.Config).
	DataDir           string
	DefaultExecutor   string
	Mode              string
	PresignedURLs     bool
	OutputURLTTL      time.Duration
	EgressLimits      egress.Limits
	IdempotencyWindow time.Duration
	// The face's (Config).
	PublicURL          string
	DefaultPageSize    int
	MaxPageSize        int
	MaxParts           int
	MaxAttachmentBytes int64
	MaxRequestBytes    int64
	ServiceInfo        ServiceInfo
	AuthMode           string
}

type testDeps struct {
	// The run service's (runs.Deps).
	Store          wes.RunStore
	Dispatcher     wes.Dispatcher
	Engines        *engines.Registry
	Idempotency    wes.IdempotencyStore
	Admission      wes.Admission
	Catalog        *catalog.Holder
	Results        wes.ResultStore
	Audit          wes.Auditor
	AuditLog       *audit.Log
	SubmitCheckers map[string]wes.SubmitChecker
	TaskURI        func(wes.Handle) string
	// Both's.
	Logger *slog.Logger
	// The face's (Deps).
	Authenticate func(*http.Request) (*wes.Principal, error)
	Metrics      *metrics.Registry
}

// newAPI builds the run service and the HTTP API on it.
func newAPI(c testConfig, d testDeps) (http.Handler, error) {
	svc, err := runs.New(runs.Config{DataDir: c.DataDir, DefaultExecutor: c.DefaultExecutor, Mode: c.Mode,
		PresignedURLs: c.PresignedURLs, OutputURLTTL: c.OutputURLTTL, EgressLimits: c.EgressLimits,
		IdempotencyWindow: c.IdempotencyWindow},
		runs.Deps{Store: d.Store, Dispatcher: d.Dispatcher, Engines: d.Engines, Idempotency: d.Idempotency,
			Admission: d.Admission, Catalog: d.Catalog, Results: d.Results, Audit: d.Audit, AuditLog: d.AuditLog,
			SubmitCheckers: d.SubmitCheckers, TaskURI: d.TaskURI, Logger: d.Logger})
	if err != nil {
		return nil, err
	}
	return New(Config{PublicURL: c.PublicURL, DefaultPageSize: c.DefaultPageSize, MaxPageSize: c.MaxPageSize,
		MaxParts: c.MaxParts, MaxAttachmentBytes: c.MaxAttachmentBytes, MaxRequestBytes: c.MaxRequestBytes,
		ServiceInfo: c.ServiceInfo, AuthMode: c.AuthMode},
		Deps{Runs: svc, Authenticate: d.Authenticate, Logger: d.Logger, Metrics: d.Metrics})
}

// The audit actions the run service records, as the tests look for them.
const (
	actionSubmit     = "run.submit"
	actionRunAccess  = "run.access"
	actionAuthRefuse = "auth.refuse"
	actionOutputURL  = "output.url"
	actionReview     = "output.review"
	actionExport     = "audit.export"
	actionQuery      = "audit.query"
)

// idemPendingTTL is how long the run service holds a key "in progress" (2 × its
// dispatch timeout).
const idemPendingTTL = 20 * time.Second

// The causes of run.access refusals.
const (
	refusedMalformed = "malformed"
	refusedUnknown   = "unknown"
	refusedOthers    = "other_owner"
)

// How many refusals per key the run service audits in a window.
const refusalsPerKey = 10

// The actor of refused tokens.
const actorUnauthenticated = "unauthenticated"
