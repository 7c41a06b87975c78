// Package config is Enclave's configuration: one YAML file, ENCLAVE_* environment
// overrides, documented defaults, validation that reports every problem by field path,
// and a redacted copy that is safe to log.
//
// Precedence, lowest first: Default() → the YAML file → the environment → command-line
// flags (applied by cmd/enclave after Load). Environment variables are named after the key
// path: "ENCLAVE_" + the path in upper case with "." replaced by "_", so server.addr is
// ENCLAVE_SERVER_ADDR and redis.password is ENCLAVE_REDIS_PASSWORD. Only known keys are
// mapped, so the underscores inside key names are never ambiguous; other ENCLAVE_*
// variables (ENCLAVE_URL, ENCLAVE_TOKEN, ENCLAVE_CONFIG, ...) are left to their users.
// Lists are comma-separated in the environment.
package config

import (
	"path/filepath"
	"slices"
	"time"

	"github.com/spe4hd/enclave/executors"
)

// Config is the whole configuration of the enclave binary. The yaml tags are the keys of
// the configuration file. Each field says what it does and its default.
type Config struct {
	// Server is the WES API server.
	Server ServerConfig `yaml:"server"`
	// Log is the process's own log.
	Log LogConfig `yaml:"log"`
	// Redis is where runs and the work queue are kept.
	Redis RedisConfig `yaml:"redis"`
	// Worker is the part that runs queued run steps.
	Worker WorkerConfig `yaml:"worker"`
	// DataDir holds the runs' work directories and logs inside the zone.
	// Default "./enclave-data".
	DataDir string `yaml:"data_dir"`
	// Executor selects and configures the backends that run workflow engines.
	Executor ExecutorConfig `yaml:"executor"`
	// Engines configures the workflow engines.
	Engines EnginesConfig `yaml:"engines"`
	// Auth is how API callers are authenticated.
	Auth AuthConfig `yaml:"auth"`
	// Portal is the web application for researchers and data controllers.
	Portal PortalConfig `yaml:"portal"`
	// Zone is the sealed zone: catalogue, result store, egress limits.
	Zone ZoneConfig `yaml:"zone"`
	// Audit configures the audit trail's checkpoints.
	Audit AuditConfig `yaml:"audit"`
	// Notify sends notifications of run events: webhooks and e-mail.
	Notify NotifyConfig `yaml:"notify"`
	// ServiceInfo is what GET /service-info reports about this deployment.
	ServiceInfo ServiceInfoConfig `yaml:"service_info"`
	// Metrics says where Prometheus metrics are served.
	Metrics MetricsConfig `yaml:"metrics"`

	// authModeGiven records that auth.mode was written out (file or environment), so
	// that authentication off by default is allowed on loopback addresses only.
	authModeGiven bool
	// file is the configuration file Load read (absolute), "" without one: provenance,
	// so that confined jobs can be kept from reading it (see ServerPaths).
	file string
}

// ServerConfig configures the HTTP server of the WES API.
type ServerConfig struct {
	// Addr is the host:port to listen on. Default "127.0.0.1:8080" (loopback only).
	Addr string `yaml:"addr"`
	// PublicURL is the absolute URL clients reach the server at, used in links the server
	// returns. Default "" (derived from each request).
	PublicURL string `yaml:"public_url"`
	// ReadHeaderTimeout bounds how long a client may take to send request headers.
	// Default 10s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ShutdownTimeout bounds a graceful shutdown: in-flight requests get this long to end.
	// Default 20s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MaxRequestBytes limits the size of a request body (all attachments included).
	// Default 256MiB.
	MaxRequestBytes ByteSize `yaml:"max_request_bytes"`
	// IdempotencyWindow is how long the Idempotency-Key of a POST /runs is remembered:
	// the same owner sending the same key within it gets the run the first request
	// created. Default 24h.
	IdempotencyWindow time.Duration `yaml:"idempotency_window"`
	// MaxParts limits the number of parts in a multipart run request. Default 1000.
	MaxParts int `yaml:"max_parts"`
	// MaxAttachmentBytes limits the size of each attached file. Default 100MiB.
	MaxAttachmentBytes ByteSize `yaml:"max_attachment_bytes"`
	// DefaultPageSize is the page size of the list operations (runs, tasks) when the
	// client gives none. Default 50.
	DefaultPageSize int `yaml:"default_page_size"`
	// MaxPageSize is the largest page_size the list operations accept; larger ones are
	// refused. Default 500.
	MaxPageSize int `yaml:"max_page_size"`
}

// LogConfig configures the process log.
type LogConfig struct {
	// Level is the least severe level logged: debug, info, warn or error. Default "info".
	Level string `yaml:"level"`
	// Format is "text" (key=value lines) or "json" (one object per line). Default "text".
	Format string `yaml:"format"`
}

// RedisConfig names the Redis server that keeps runs and the queue.
type RedisConfig struct {
	// Addr is the host:port of Redis. Default "": an embedded in-process store, for a
	// single server process with an in-process worker (nothing survives a restart).
	// Exclusive with Sentinel and Cluster.
	Addr string `yaml:"addr"`
	// Sentinel reaches a primary and its replicas through Redis Sentinel, which fails the
	// primary over when it dies. Exclusive with Addr and Cluster.
	Sentinel RedisSentinelConfig `yaml:"sentinel"`
	// Cluster reaches a Redis Cluster. Exclusive with Addr and Sentinel; KeyPrefix must
	// then hold a hash tag ({...}) so Enclave's transactions stay in one hash slot.
	Cluster RedisClusterConfig `yaml:"cluster"`
	// Username is the Redis ACL user. Default "" (the default user).
	Username string `yaml:"username"`
	// Password is the Redis password. Secret: redacted in logs. Default "".
	Password string `yaml:"password"`
	// DB is the Redis database number. Default 0.
	DB int `yaml:"db"`
	// KeyPrefix starts every key Enclave writes, so several deployments can share one
	// Redis. Default "enclave:".
	KeyPrefix string `yaml:"key_prefix"`
	// Queue is the name of the work queue. Default "enclave".
	Queue string `yaml:"queue"`
	// StartupTimeout bounds how long a server or worker waits at start for Redis to
	// answer (down, or still loading its data set), retrying with backoff and logging
	// each wait; after it the process exits. 0 tries once. Default 5m.
	StartupTimeout time.Duration `yaml:"startup_timeout"`
}

// RedisSentinelConfig names the Sentinels that watch the Redis primary. Username and
// Password of RedisConfig log in to the primary and its replicas; the ones here log in to
// the Sentinels themselves.
type RedisSentinelConfig struct {
	// MasterName is the name the Sentinels monitor the primary under. Default "".
	MasterName string `yaml:"master_name"`
	// Addrs are the host:port of the Sentinels (at least one; all of them, so any can
	// answer while others are down). Default [].
	Addrs []string `yaml:"addrs"`
	// Username is the Sentinels' ACL user. Default "" (the default user).
	Username string `yaml:"username"`
	// Password is the Sentinels' password (requirepass of sentinel.conf). Secret:
	// redacted in logs. Default "".
	Password string `yaml:"password"`
}

// Enabled reports whether Redis is reached through Sentinel.
func (s RedisSentinelConfig) Enabled() bool { return s.MasterName != "" || len(s.Addrs) > 0 }

// RedisClusterConfig names the nodes of a Redis Cluster.
type RedisClusterConfig struct {
	// Addrs are host:port of cluster nodes to learn the cluster from (one is enough,
	// more survive one being down). Default [].
	Addrs []string `yaml:"addrs"`
}

// Enabled reports whether Redis is a cluster.
func (c RedisClusterConfig) Enabled() bool { return len(c.Addrs) > 0 }

// WorkerConfig configures the worker that runs the steps of each run.
type WorkerConfig struct {
	// InProcess makes `enclave server` run a worker too. Default true. Must be true with
	// the embedded store, which no other process can reach.
	InProcess bool `yaml:"in_process"`
	// Concurrency is how many run steps one worker handles at once. Default 10.
	Concurrency int `yaml:"concurrency"`
	// TaskCheckInterval is how often an idle worker looks for queued steps. Default 20ms.
	TaskCheckInterval time.Duration `yaml:"task_check_interval"`
	// ReconcileInterval is how often running jobs are asked for their state. Default 1s.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// StepTimeout bounds one run step (start, finalize, cancel), never a whole workflow.
	// Default 2m.
	StepTimeout time.Duration `yaml:"step_timeout"`
	// MaxStartAttempts is how often starting a run is tried before it becomes
	// SYSTEM_ERROR. Default 5.
	MaxStartAttempts int `yaml:"max_start_attempts"`
}

// EnginesConfig configures each workflow engine.
type EnginesConfig struct {
	// Snakemake runs workflow_type SMK.
	Snakemake SnakemakeConfig `yaml:"snakemake"`
	// Cwltool runs workflow_type CWL.
	Cwltool CwltoolConfig `yaml:"cwltool"`
	// Nextflow runs workflow_type NFL.
	Nextflow NextflowConfig `yaml:"nextflow"`
	// DiscoveryRetryMax is the longest wait between two checks of an engine that is not
	// ready: one whose version discovery failed or timed out (its runs get 503 until it
	// succeeds) or whose program is absent (not offered until it appears). Checks start
	// 1s apart and the wait doubles up to this. Default 1m.
	DiscoveryRetryMax time.Duration `yaml:"discovery_retry_max"`
}

// SnakemakeConfig configures the Snakemake engine.
type SnakemakeConfig struct {
	// Binary is the snakemake program, a name looked up on PATH or a path. Default "snakemake".
	Binary string `yaml:"binary"`
	// Versions lists the engine versions offered. Default [] (asked from the binary).
	Versions []string `yaml:"versions"`
	// DefaultCores is --cores when a run does not set it. Default 1.
	DefaultCores int `yaml:"default_cores"`
}

// CwltoolConfig configures the cwltool engine.
type CwltoolConfig struct {
	// Binary is the cwltool program, a name looked up on PATH or a path. Default "cwltool".
	Binary string `yaml:"binary"`
	// Versions lists the engine versions offered. Default [] (asked from the binary).
	Versions []string `yaml:"versions"`
	// UseContainers lets cwltool run DockerRequirement steps in containers; false passes
	// --no-container. Default false.
	UseContainers bool `yaml:"use_containers"`
}

// NextflowConfig configures the Nextflow engine.
type NextflowConfig struct {
	// Binary is the nextflow program, a name looked up on PATH or a path. Default "nextflow".
	Binary string `yaml:"binary"`
	// Versions lists the engine versions offered. Default ["24.10.0"].
	Versions []string `yaml:"versions"`
}

// AuthConfig configures authentication of API callers.
type AuthConfig struct {
	// Mode is "oidc" (OIDC bearer tokens, see OIDC) or "none" (every caller is the
	// anonymous admin; the server warns loudly at start and service-info says so).
	// Default "none" only when no configuration file is loaded (the embedded default);
	// with a file the default is "oidc", so a deployment is never open by omission.
	Mode string `yaml:"mode"`
	// OIDC configures mode oidc.
	OIDC OIDCConfig `yaml:"oidc"`
}

// OIDCConfig configures bearer-token authentication against an OpenID Provider
// (LS-Login in SPE4HD; Dex in the tests).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL exactly as tokens carry it in "iss" (mind the
	// trailing slash). https, except on loopback. Required in mode oidc. Default "".
	Issuer string `yaml:"issuer"`
	// ClientID is the client users log in with (`enclave login --client-id`), and the
	// accepted token audience when Audience is empty. Default "".
	ClientID string `yaml:"client_id"`
	// Audience lists the accepted "aud" values; a token must name one. Default [] (client_id).
	Audience []string `yaml:"audience"`
	// Claims names the claims the caller's identity is read from.
	Claims OIDCClaimsConfig `yaml:"claims"`
	// Roles maps groups and entitlements to Enclave roles.
	Roles OIDCRolesConfig `yaml:"roles"`
	// AllUsersAreResearchers gives every authenticated user the researcher role.
	// Default false.
	AllUsersAreResearchers bool `yaml:"all_users_are_researchers"`
	// RequiredEntitlement is a group or entitlement a user must hold to use the service
	// at all (others get 403). Default "" (none).
	RequiredEntitlement string `yaml:"required_entitlement"`
	// RequiredScope is a scope tokens must carry (others get 403). Default "" (none).
	RequiredScope string `yaml:"required_scope"`
	// Algorithms are the accepted signature algorithms; none and HMAC are always
	// refused. Default [RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA].
	Algorithms []string `yaml:"algorithms"`
	// ClockSkew is the leeway for exp, nbf and iat. Default 30s, at most 5m.
	ClockSkew time.Duration `yaml:"clock_skew"`
	// JWKSRefreshInterval is the least time between two fetches of the provider's keys
	// (a token with an unknown key id triggers one). Default 15s.
	JWKSRefreshInterval time.Duration `yaml:"jwks_refresh_interval"`
	// Userinfo asks the userinfo endpoint for claims a token lacks.
	Userinfo OIDCUserinfoConfig `yaml:"userinfo"`
	// MaxTokenBytes is the largest bearer token accepted. Default 16KiB.
	MaxTokenBytes ByteSize `yaml:"max_token_bytes"`
	// DiscoveryTimeout is how long the server retries reaching the provider at start
	// before it gives up and exits. Default 30s.
	DiscoveryTimeout time.Duration `yaml:"discovery_timeout"`
}

// OIDCClaimsConfig names token claims.
type OIDCClaimsConfig struct {
	// Subject is the stable user id that owns runs. Default "sub".
	Subject string `yaml:"subject"`
	// Name is the display name. Default "name".
	Name string `yaml:"name"`
	// Email is the e-mail address. Default "email".
	Email string `yaml:"email"`
	// Groups lists the user's groups. Default "groups".
	Groups string `yaml:"groups"`
	// Entitlements lists the user's entitlements. Default "eduperson_entitlement".
	Entitlements string `yaml:"entitlements"`
}

// OIDCRolesConfig lists, per role, the groups or entitlements granting it (exact match).
type OIDCRolesConfig struct {
	// Admin sees and cancels every run. Default [].
	Admin []string `yaml:"admin"`
	// DataController sees every run. Default [].
	DataController []string `yaml:"data_controller"`
	// Researcher submits runs and sees their own. Default [].
	Researcher []string `yaml:"researcher"`
}

// OIDCUserinfoConfig configures userinfo lookups.
type OIDCUserinfoConfig struct {
	// Enabled asks the userinfo endpoint for configured claims missing from a token.
	// Default false.
	Enabled bool `yaml:"enabled"`
	// CacheTTL is how long an answer is reused for the same token. Default 5m.
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// AuditConfig configures the audit trail. The trail itself lives in Redis under
// redis.key_prefix.
type AuditConfig struct {
	// Checkpoint anchors the trail's head outside Redis.
	Checkpoint AuditCheckpointConfig `yaml:"checkpoint"`
}

// AuditCheckpointConfig configures the signed checkpoints of the audit chain's head,
// which one worker writes to the result store (see audit.Checkpointer).
type AuditCheckpointConfig struct {
	// KeyFile is the Ed25519 private key that signs checkpoints: a PEM PKCS#8 file as
	// `openssl genpkey -algorithm ed25519` writes it, readable by its owner only.
	// Default "": no checkpoints.
	KeyFile string `yaml:"key_file"`
	// Interval is how often the worker holding the checkpoint lease signs the head, if
	// it moved. Default 5m; 0 turns checkpoints off.
	Interval time.Duration `yaml:"interval"`
}

// Enabled reports whether the workers write audit checkpoints.
func (c AuditCheckpointConfig) Enabled() bool { return c.KeyFile != "" && c.Interval > 0 }

// ServiceInfoConfig is reported by GET /service-info (GA4GH service-info fields).
type ServiceInfoConfig struct {
	// ID is the service's reverse-domain id. Default "org.spe4hd.enclave".
	ID string `yaml:"id"`
	// Name is the service's display name. Default "Enclave".
	Name string `yaml:"name"`
	// Description says what this deployment is for. Default: a one-line description of Enclave.
	Description string `yaml:"description"`
	// Organization runs this deployment.
	Organization OrganizationConfig `yaml:"organization"`
	// ContactURL is a mailto: or https: URL for help. Default "".
	ContactURL string `yaml:"contact_url"`
	// DocumentationURL points at the user documentation. Default: the project's page.
	DocumentationURL string `yaml:"documentation_url"`
	// Environment is the deployment's stage, e.g. dev, test or prod. Default "dev".
	Environment string `yaml:"environment"`
	// AuthInstructionsURL tells users how to get a token. Default "".
	AuthInstructionsURL string `yaml:"auth_instructions_url"`
}

// OrganizationConfig is the organization in service-info.
type OrganizationConfig struct {
	// Name of the organization. Default "SPE4HD".
	Name string `yaml:"name"`
	// URL of the organization. Default "https://github.com/spe4hd".
	URL string `yaml:"url"`
}

// Default returns the configuration used when nothing is configured: the embedded store,
// an in-process worker, the local executor, loopback only, auth off. (Load switches
// auth.mode to oidc as soon as a configuration file is read.)
func Default() Config {
	return Config{
		Server: ServerConfig{
			Addr:               "127.0.0.1:8080",
			ReadHeaderTimeout:  10 * time.Second,
			ShutdownTimeout:    20 * time.Second,
			MaxRequestBytes:    256 << 20,
			MaxParts:           1000,
			IdempotencyWindow:  24 * time.Hour,
			MaxAttachmentBytes: 100 << 20,
			DefaultPageSize:    50,
			MaxPageSize:        500,
		},
		Log: LogConfig{Level: "info", Format: "text"},
		Redis: RedisConfig{KeyPrefix: "enclave:", Queue: "enclave", StartupTimeout: 5 * time.Minute,
			Sentinel: RedisSentinelConfig{Addrs: []string{}}, Cluster: RedisClusterConfig{Addrs: []string{}}},
		Worker: WorkerConfig{
			InProcess:         true,
			Concurrency:       10,
			TaskCheckInterval: 20 * time.Millisecond,
			ReconcileInterval: time.Second,
			StepTimeout:       2 * time.Minute,
			MaxStartAttempts:  5,
		},
		DataDir:  "./enclave-data",
		Executor: executors.DefaultConfig(),
		Engines: EnginesConfig{
			Snakemake:         SnakemakeConfig{Binary: "snakemake", Versions: []string{}, DefaultCores: 1},
			Cwltool:           CwltoolConfig{Binary: "cwltool", Versions: []string{}},
			Nextflow:          NextflowConfig{Binary: "nextflow", Versions: []string{"24.10.0"}},
			DiscoveryRetryMax: time.Minute,
		},
		Zone: ZoneConfig{Mode: "open", OutputURLTTL: 15 * time.Minute, MaxFileBytes: 1 << 30, MaxTotalBytes: 5 << 30,
			MaxFiles: 1000, Results: ResultsConfig{Store: "local", S3: S3Config{Bucket: "enclave-results"}},
			RetentionInterval: time.Hour, Review: ReviewConfig{Approvals: 1}},
		Notify: NotifyConfig{Source: "urn:enclave", Timeout: 10 * time.Second, MaxRetry: 8, RetryBase: 10 * time.Second,
			RetryMax: 10 * time.Minute, Webhooks: Webhooks{}, SMTP: SMTPConfig{Port: 587, StartTLS: "required"},
			Email: EmailConfig{Reviewers: []string{}}},
		Auth: AuthConfig{Mode: "none", OIDC: OIDCConfig{
			Audience:            []string{},
			Claims:              OIDCClaimsConfig{Subject: "sub", Name: "name", Email: "email", Groups: "groups", Entitlements: "eduperson_entitlement"},
			Roles:               OIDCRolesConfig{Admin: []string{}, DataController: []string{}, Researcher: []string{}},
			Algorithms:          slices.Clone(OIDCAlgorithms),
			ClockSkew:           30 * time.Second,
			JWKSRefreshInterval: 15 * time.Second,
			Userinfo:            OIDCUserinfoConfig{CacheTTL: 5 * time.Minute},
			MaxTokenBytes:       16 << 10,
			DiscoveryTimeout:    30 * time.Second,
		}},
		Portal: PortalConfig{Enabled: true, Prefix: "/",
			Session: PortalSessionConfig{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour}},
		Audit: AuditConfig{Checkpoint: AuditCheckpointConfig{Interval: 5 * time.Minute}},
		ServiceInfo: ServiceInfoConfig{
			ID:               "org.spe4hd.enclave",
			Name:             "Enclave",
			Description:      "GA4GH WES 1.1.0 server for secure processing environments for health data",
			Organization:     OrganizationConfig{Name: "SPE4HD", URL: "https://github.com/spe4hd"},
			DocumentationURL: "https://github.com/spe4hd/enclave",
			Environment:      "dev",
		},
	}
}

// MaxRunning is each executor's max_running, by executor name (runner.Config.MaxRunning).
func (c Config) MaxRunning() map[string]int { return c.Executor.MaxRunning() }

// Embedded reports whether no Redis is configured (no address, Sentinel or cluster), so
// the server keeps runs and the queue in an in-process store.
func (c Config) Embedded() bool {
	return c.Redis.Addr == "" && !c.Redis.Sentinel.Enabled() && !c.Redis.Cluster.Enabled()
}

// LocalStateDir is executor.local.state_dir, or <data_dir>/executor/local when unset.
func (c Config) LocalStateDir() string { return c.Executor.Local.StateDirIn(c.DataDir) }

// RedactedValue replaces secrets in Config.Redacted.
const RedactedValue = "REDACTED"

// Redacted returns a copy of c with every secret that is set replaced by "REDACTED", for
// logging and for printing the effective configuration.
func (c Config) Redacted() Config {
	out := c.clone()
	for _, f := range out.fields() {
		if s, ok := f.ptr.(*string); ok && f.secret && *s != "" {
			*s = RedactedValue
		}
	}
	for i := range out.Notify.Webhooks { // the one secret inside a list
		if out.Notify.Webhooks[i].Secret != "" {
			out.Notify.Webhooks[i].Secret = RedactedValue
		}
	}
	return out
}

// clone returns a deep copy: lists are the only memory a plain copy would share.
func (c Config) clone() Config {
	out := c
	for _, f := range out.fields() {
		if l, ok := f.ptr.(*[]string); ok && *l != nil {
			*l = append([]string{}, *l...)
		}
	}
	out.Notify.Webhooks = c.Notify.Webhooks.clone()
	return out
}

// ZoneConfig configures the sealed zone.
type ZoneConfig struct {
	// Mode is "sealed" (only catalogue workflows run; attachments are refused) or "open"
	// (plain WES; catalogue workflows run too when a catalogue is set). Default "open"
	// without a configuration file, "sealed" with one.
	Mode string `yaml:"mode"`
	// Catalog is the catalogue file (YAML) of validated workflows, datasets and usage
	// policy; reloaded on SIGHUP. Required in sealed mode. Default "".
	Catalog string `yaml:"catalog"`
	// OutputURLTTL is how long presigned output URLs stay valid. Default 15m.
	OutputURLTTL time.Duration `yaml:"output_url_ttl"`
	// MaxFileBytes, MaxTotalBytes and MaxFiles bound what one run may release, where its
	// catalogue entry sets no tighter limits. Defaults 1GiB, 5GiB, 1000.
	MaxFileBytes  ByteSize `yaml:"max_file_bytes"`
	MaxTotalBytes ByteSize `yaml:"max_total_bytes"`
	MaxFiles      int      `yaml:"max_files"`
	// Retention is how long after it ended a run keeps its work dir, logs and released
	// outputs; then the workers delete them as DELETE /runs/{id} does, keeping the run's
	// record and audit trail. Default 0: kept until deleted by hand.
	Retention time.Duration `yaml:"retention"`
	// RetentionInterval is how often each worker looks for runs past Retention. Default 1h.
	RetentionInterval time.Duration `yaml:"retention_interval"`
	// Results is where released outputs are stored.
	Results ResultsConfig `yaml:"results"`
	// Review governs the data controllers' review of held outputs (egress: review).
	Review ReviewConfig `yaml:"review"`
}

// ReviewConfig governs the review of held outputs.
type ReviewConfig struct {
	// Approvals is how many distinct reviewers must approve each held file before it is
	// released; a catalogue entry's approvals may ask for more, never fewer. Default 1.
	Approvals int `yaml:"approvals"`
}

// ResultsConfig selects the object store for released outputs.
type ResultsConfig struct {
	// Store is "local" (a directory; the embedded default) or "s3" (MinIO/S3). Default "local".
	Store string `yaml:"store"`
	// LocalDir is the local store's directory. Default "": <data_dir>/results.
	LocalDir string `yaml:"local_dir"`
	// PresignedURLs lets output lists and RunLog.outputs hand out the store's presigned
	// URLs (valid zone.output_url_ttl) instead of the API's download route. Each URL is
	// audited when it is issued (output.url), but what is fetched with it is not, and
	// anyone holding it can use it until it expires. Default false: every download goes
	// through Enclave and is audited (output.download).
	PresignedURLs bool `yaml:"presigned_urls"`
	// S3 configures the s3 store.
	S3 S3Config `yaml:"s3"`
}

// S3Config names a MinIO/S3 bucket.
type S3Config struct {
	// Endpoint is host:port of the S3 API. Required for store s3.
	Endpoint string `yaml:"endpoint"`
	// PublicEndpoint is the host:port clients reach for presigned URLs; "" = Endpoint.
	PublicEndpoint string `yaml:"public_endpoint"`
	// AccessKey is the access key id. Required for store s3.
	AccessKey string `yaml:"access_key"`
	// SecretKey is the secret key. Secret: redacted in logs. Required for store s3.
	SecretKey string `yaml:"secret_key"`
	// Bucket holds the outputs (created if missing). Default "enclave-results".
	Bucket string `yaml:"bucket"`
	// Region of the bucket. Default "".
	Region string `yaml:"region"`
	// UseSSL talks https to the endpoint. Default false.
	UseSSL bool `yaml:"use_ssl"`
}

// ResultsLocalDir is zone.results.local_dir, or <data_dir>/results when unset.
func (c Config) ResultsLocalDir() string {
	if c.Zone.Results.LocalDir != "" {
		return c.Zone.Results.LocalDir
	}
	return filepath.Join(c.DataDir, "results")
}
