package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/config/confkit"
)

// Accepted values of the enumerated keys.
var (
	LogLevels  = []string{"debug", "info", "warn", "error"}
	LogFormats = []string{"text", "json"}
	AuthModes  = []string{"none", "oidc"}
	// OIDCAlgorithms are the signature algorithms auth.oidc.algorithms may list: the
	// asymmetric ones. none and the HMAC algorithms are never accepted.
	OIDCAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// executorName is the shape of an executor's registry name; the registry itself checks
// that it exists when the worker starts.
var executorName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Validate checks c and returns every problem joined into one error, each a *FieldError
// naming its key, or nil.
func (c Config) Validate() error {
	v := &validator{confkit.NewProblems("")}

	s := c.Server
	v.HostPort("server.addr", s.Addr)
	if s.PublicURL != "" {
		v.httpURL("server.public_url", s.PublicURL)
	}
	v.PositiveDuration("server.read_header_timeout", s.ReadHeaderTimeout)
	v.PositiveDuration("server.shutdown_timeout", s.ShutdownTimeout)
	v.PositiveDuration("server.idempotency_window", s.IdempotencyWindow)
	v.Check("server.max_request_bytes", s.MaxRequestBytes > 0, "must be more than 0")
	v.Check("server.max_attachment_bytes", s.MaxAttachmentBytes > 0, "must be more than 0")
	v.Check("server.max_attachment_bytes", s.MaxAttachmentBytes <= 0 || s.MaxRequestBytes <= 0 || s.MaxAttachmentBytes <= s.MaxRequestBytes,
		fmt.Sprintf("%s is larger than server.max_request_bytes (%s), so it could never be reached", s.MaxAttachmentBytes, s.MaxRequestBytes))
	v.AtLeast("server.max_parts", s.MaxParts, 1)
	v.AtLeast("server.default_page_size", s.DefaultPageSize, 1)
	v.AtLeast("server.max_page_size", s.MaxPageSize, 1)
	v.Check("server.default_page_size", s.DefaultPageSize < 1 || s.MaxPageSize < 1 || s.DefaultPageSize <= s.MaxPageSize,
		fmt.Sprintf("%d is larger than server.max_page_size (%d)", s.DefaultPageSize, s.MaxPageSize))

	v.OneOf("log.level", c.Log.Level, LogLevels)
	v.OneOf("log.format", c.Log.Format, LogFormats)

	r := c.Redis
	if r.Addr != "" {
		v.HostPort("redis.addr", r.Addr)
	}
	v.validateRedisTopology(r)
	v.Check("redis.db", r.DB >= 0, "must be 0 or more")
	v.Check("redis.key_prefix", r.KeyPrefix != "", "must not be empty: Enclave's keys need a prefix of their own")
	v.NoSpace("redis.key_prefix", r.KeyPrefix)
	v.Check("redis.queue", r.Queue != "", "must not be empty")
	v.NoSpace("redis.queue", r.Queue)
	v.Check("redis.startup_timeout", r.StartupTimeout >= 0, "must not be negative")

	w := c.Worker
	v.Check("worker.in_process", w.InProcess || !c.Embedded(),
		"must be true while redis.addr is empty: no worker process can reach the embedded store; set redis.addr to run separate workers")
	v.AtLeast("worker.concurrency", w.Concurrency, 1)
	v.PositiveDuration("worker.task_check_interval", w.TaskCheckInterval)
	v.PositiveDuration("worker.reconcile_interval", w.ReconcileInterval)
	v.PositiveDuration("worker.step_timeout", w.StepTimeout)
	v.AtLeast("worker.max_start_attempts", w.MaxStartAttempts, 1)

	v.Check("data_dir", strings.TrimSpace(c.DataDir) != "", "must not be empty")

	v.Append(c.Executor.Validate())
	if !executorName.MatchString(c.Executor.Default) {
		v.Add("executor.default", "%q is not an executor name (lower-case letters, digits and -, e.g. local)", c.Executor.Default)
	} else if enabled := c.EnabledExecutors(); !slices.Contains(enabled, c.Executor.Default) {
		v.Add("executor.default", "%q is not an enabled executor (enabled: %s); enable it with executor.%s.enabled: true",
			c.Executor.Default, strings.Join(enabled, ", "), c.Executor.Default)
	}

	e := c.Engines
	v.binary("engines.snakemake.binary", e.Snakemake.Binary)
	v.versions("engines.snakemake.versions", e.Snakemake.Versions)
	v.AtLeast("engines.snakemake.default_cores", e.Snakemake.DefaultCores, 1)
	v.Check("engines.snakemake.default_cores", e.Snakemake.DefaultCores <= 64,
		fmt.Sprintf("%d is too large: the cores engine parameter allows at most 64", e.Snakemake.DefaultCores))
	v.binary("engines.cwltool.binary", e.Cwltool.Binary)
	v.versions("engines.cwltool.versions", e.Cwltool.Versions)
	v.binary("engines.nextflow.binary", e.Nextflow.Binary)
	v.versions("engines.nextflow.versions", e.Nextflow.Versions)
	v.Check("engines.discovery_retry_max", e.DiscoveryRetryMax >= time.Second, "must be at least 1s")

	v.OneOf("auth.mode", c.Auth.Mode, AuthModes)
	if c.Auth.Mode == "none" && !c.authModeGiven && !loopbackAddr(c.Server.Addr) {
		v.Add("auth.mode", "authentication is off by default only on a loopback address, and server.addr is %q: "+
			"configure auth.oidc, or write auth.mode: none (ENCLAVE_AUTH_MODE=none) to serve without authentication on purpose", c.Server.Addr)
	}
	v.oidc(c.Auth)
	v.portal(c.Portal)
	v.zone(c.Zone)
	v.auditCheckpoint(c.Audit.Checkpoint)
	v.notify(c.Notify)
	v.metrics(c.Metrics, c.Server.Addr)

	si := c.ServiceInfo
	v.Check("service_info.id", si.ID != "" && !strings.ContainsAny(si.ID, " \t\n/"),
		fmt.Sprintf("%q must be a non-empty reverse-domain id without spaces, e.g. org.example.wes", si.ID))
	v.Check("service_info.name", strings.TrimSpace(si.Name) != "", "must not be empty")
	v.Check("service_info.organization.name", strings.TrimSpace(si.Organization.Name) != "", "must not be empty (service-info requires it)")
	v.httpURL("service_info.organization.url", si.Organization.URL)
	if si.ContactURL != "" {
		v.contactURL("service_info.contact_url", si.ContactURL)
	}
	if si.DocumentationURL != "" {
		v.httpURL("service_info.documentation_url", si.DocumentationURL)
	}
	if si.AuthInstructionsURL != "" {
		v.httpURL("service_info.auth_instructions_url", si.AuthInstructionsURL)
	}
	return v.Err()
}

// validator collects the problems of the whole file (confkit.Problems), with the checks
// only the keys of this package need.
type validator struct{ *confkit.Problems }

func (v *validator) httpURL(path, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.Add(path, "%q is not an absolute http(s) URL, like https://wes.example.org", s)
	case u.User != nil:
		v.Add(path, "must not carry a user name or password")
	case u.RawQuery != "" || u.Fragment != "":
		v.Add(path, "must not have a query or fragment")
	}
}

func (v *validator) contactURL(path, s string) {
	if strings.HasPrefix(s, "mailto:") {
		if len(s) == len("mailto:") || !strings.Contains(s, "@") {
			v.Add(path, "%q is not a mailto: address, like mailto:help@example.org", s)
		}
		return
	}
	v.httpURL(path, s)
}

func (v *validator) binary(path, s string) {
	if strings.TrimSpace(s) == "" {
		v.Add(path, "must name a program on PATH or a path to one")
	}
}

func (v *validator) versions(path string, vs []string) {
	for i, s := range vs {
		if s == "" || strings.ContainsAny(s, " \t\r\n,") {
			v.Add(fmt.Sprintf("%s[%d]", path, i), "%q is not a version (no spaces or commas)", s)
		}
	}
}

// ZoneModes and ResultStores are the accepted zone.mode and zone.results.store values.
var (
	ZoneModes    = []string{"open", "sealed"}
	ResultStores = []string{"local", "s3"}
)

func (v *validator) zone(z ZoneConfig) {
	v.OneOf("zone.mode", z.Mode, ZoneModes)
	if z.Mode == "sealed" {
		v.Check("zone.catalog", z.Catalog != "", "required when zone.mode is sealed: name the catalogue file of validated workflows")
	}
	v.PositiveDuration("zone.output_url_ttl", z.OutputURLTTL)
	v.Check("zone.max_file_bytes", z.MaxFileBytes > 0, "must be more than 0")
	v.Check("zone.max_total_bytes", z.MaxTotalBytes > 0, "must be more than 0")
	v.AtLeast("zone.max_files", z.MaxFiles, 1)
	v.Check("zone.retention", z.Retention >= 0, "must not be negative: 0 keeps runs' files, 720h deletes them 30 days after the run ended")
	v.PositiveDuration("zone.retention_interval", z.RetentionInterval)
	v.Check("zone.review.approvals", z.Review.Approvals >= 1 && z.Review.Approvals <= 5, "must be between 1 and 5: the number of distinct data controllers who approve each held file")
	v.OneOf("zone.results.store", z.Results.Store, ResultStores)
	if z.Results.Store == "s3" {
		s := z.Results.S3
		v.HostPort("zone.results.s3.endpoint", s.Endpoint)
		v.Check("zone.results.s3.access_key", s.AccessKey != "", "required for store s3")
		v.Check("zone.results.s3.secret_key", s.SecretKey != "", "required for store s3 (set ENCLAVE_ZONE_RESULTS_S3_SECRET_KEY)")
		v.Check("zone.results.s3.bucket", s.Bucket != "", "required for store s3")
		if s.PublicEndpoint != "" {
			v.HostPort("zone.results.s3.public_endpoint", s.PublicEndpoint)
		}
	}
}

// loopbackAddr reports whether a host:port listens on loopback only.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
