package config

import (
	"reflect"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/config/confkit"
)

// field is one key of the configuration file. The table below is the single list of
// keys: loading, environment names, secrets, Set and Reference all walk it, and a test
// checks that it names every leaf of Config exactly once, in struct order.
type field struct {
	path   string // dotted key path, e.g. "server.addr"
	ptr    any    // *string, *int, *bool, *time.Duration, *ByteSize or *[]string; nil for a section
	help   string // what the key does, for Reference
	secret bool   // replaced by RedactedValue in Redacted
}

// section reports whether f is a mapping of keys rather than a value.
func (f field) section() bool { return f.ptr == nil }

// fields lists every key of c, with pointers into c, in file order.
func (c *Config) fields() []field {
	fs := []field{
		{path: "server", help: "The WES API server."},
		{"server.addr", &c.Server.Addr, "host:port to listen on. The default listens on loopback only.", false},
		{"server.public_url", &c.Server.PublicURL, `Absolute URL clients reach the server at, used in links the server returns; "" derives it from each request.`, false},
		{"server.read_header_timeout", &c.Server.ReadHeaderTimeout, "How long a client may take to send the request headers.", false},
		{"server.shutdown_timeout", &c.Server.ShutdownTimeout, "How long in-flight requests get to end on shutdown.", false},
		{"server.max_request_bytes", &c.Server.MaxRequestBytes, "Largest request body, all attachments included (e.g. 256MiB).", false},
		{"server.idempotency_window", &c.Server.IdempotencyWindow, "How long a POST /runs Idempotency-Key is remembered per owner (a retry with the same key gets the same run).", false},
		{"server.max_parts", &c.Server.MaxParts, "Most parts in one multipart run request.", false},
		{"server.max_attachment_bytes", &c.Server.MaxAttachmentBytes, "Largest single attached file.", false},
		{"server.default_page_size", &c.Server.DefaultPageSize, "Page size of the list operations when the client gives none.", false},
		{"server.max_page_size", &c.Server.MaxPageSize, "Largest page_size the list operations accept; larger ones are refused.", false},

		{path: "log", help: "The process's own log."},
		{"log.level", &c.Log.Level, "Least severe level logged: debug, info, warn or error.", false},
		{"log.format", &c.Log.Format, "text (key=value lines) or json (one object per line).", false},

		{path: "redis", help: "Where runs and the work queue are kept."},
		{"redis.addr", &c.Redis.Addr, `host:port of Redis. "" runs an embedded in-process store: one server process, nothing survives a restart.`, false},
		{path: "redis.sentinel", help: "Redis Sentinel: a primary with replicas, failed over by the Sentinels. Exclusive with redis.addr and redis.cluster."},
		{"redis.sentinel.master_name", &c.Redis.Sentinel.MasterName, "Name the Sentinels monitor the primary under.", false},
		{"redis.sentinel.addrs", &c.Redis.Sentinel.Addrs, "host:port of every Sentinel.", false},
		{"redis.sentinel.username", &c.Redis.Sentinel.Username, `ACL user of the Sentinels; "" is the default user. redis.username logs in to the primary.`, false},
		{"redis.sentinel.password", &c.Redis.Sentinel.Password, "Password of the Sentinels (redis.password is the primary's). Secret: redacted in logs; prefer the environment variable.", true},
		{path: "redis.cluster", help: "Redis Cluster. Exclusive with redis.addr and redis.sentinel; redis.key_prefix must hold a hash tag such as {enclave}."},
		{"redis.cluster.addrs", &c.Redis.Cluster.Addrs, "host:port of cluster nodes to discover the cluster from.", false},
		{"redis.username", &c.Redis.Username, `Redis ACL user; "" is the default user.`, false},
		{"redis.password", &c.Redis.Password, "Redis password. Secret: redacted in logs; prefer the environment variable.", true},
		{"redis.db", &c.Redis.DB, "Redis database number.", false},
		{"redis.key_prefix", &c.Redis.KeyPrefix, "Prefix of every key Enclave writes, so deployments can share one Redis.", false},
		{"redis.queue", &c.Redis.Queue, "Name of the work queue.", false},
		{"redis.startup_timeout", &c.Redis.StartupTimeout, "How long a server or worker waits at start for Redis (down, or loading its data set), retrying with backoff; then it exits. 0 tries once.", false},

		{path: "worker", help: "The worker that runs the steps of each run."},
		{"worker.in_process", &c.Worker.InProcess, "`enclave server` runs a worker too. Must be true with the embedded store.", false},
		{"worker.concurrency", &c.Worker.Concurrency, "Run steps one worker handles at once.", false},
		{"worker.task_check_interval", &c.Worker.TaskCheckInterval, "How often an idle worker looks for queued steps.", false},
		{"worker.reconcile_interval", &c.Worker.ReconcileInterval, "How often running jobs are asked for their state.", false},
		{"worker.step_timeout", &c.Worker.StepTimeout, "Longest one run step (start, finalize, cancel) may take; never a whole workflow.", false},
		{"worker.max_start_attempts", &c.Worker.MaxStartAttempts, "Attempts to start a run before it becomes SYSTEM_ERROR.", false},

		{"data_dir", &c.DataDir, "Directory of the runs' work directories and logs, inside the zone.", false},

		{path: "executor", help: "The backends that run workflow engines."},
	}
	// The executor section is the executors' own: their settings' tags are its keys.
	fs = append(fs, tagged("executor", &c.Executor)...)
	return append(fs, []field{
		{path: "engines", help: "The workflow engines."},
		{path: "engines.snakemake", help: "Snakemake, workflow_type SMK."},
		{"engines.snakemake.binary", &c.Engines.Snakemake.Binary, "Program name (looked up on PATH) or path.", false},
		{"engines.snakemake.versions", &c.Engines.Snakemake.Versions, "Engine versions offered; [] asks the binary.", false},
		{"engines.snakemake.default_cores", &c.Engines.Snakemake.DefaultCores, "--cores when a run does not set it.", false},
		{path: "engines.cwltool", help: "cwltool, workflow_type CWL."},
		{"engines.cwltool.binary", &c.Engines.Cwltool.Binary, "Program name (looked up on PATH) or path.", false},
		{"engines.cwltool.versions", &c.Engines.Cwltool.Versions, "Engine versions offered; [] asks the binary.", false},
		{"engines.cwltool.use_containers", &c.Engines.Cwltool.UseContainers, "Run DockerRequirement steps in containers; false passes --no-container.", false},
		{path: "engines.nextflow", help: "Nextflow, workflow_type NFL."},
		{"engines.nextflow.binary", &c.Engines.Nextflow.Binary, "Program name (looked up on PATH) or path.", false},
		{"engines.nextflow.versions", &c.Engines.Nextflow.Versions, "Engine versions offered (with the local executor, only while the binary is installed here).", false},
		{"engines.discovery_retry_max", &c.Engines.DiscoveryRetryMax, "Longest wait between two checks of an engine that is not ready (discovery failing: its runs get 503; program absent: not offered). Checks start 1s apart and double.", false},

		{path: "auth", help: "How API callers are authenticated."},
		{"auth.mode", &c.Auth.Mode, "oidc: OIDC bearer tokens; none: every caller is the anonymous admin (the server warns loudly). none is the default only without a configuration file: with a file it is oidc unless the file says none.", false},
		{path: "auth.oidc", help: "Bearer tokens from an OpenID Provider (LS-Login, Dex, ...)."},
		{"auth.oidc.issuer", &c.Auth.OIDC.Issuer, `Issuer URL exactly as in the tokens' "iss" (mind the trailing slash); https except on loopback. Required in mode oidc.`, false},
		{"auth.oidc.client_id", &c.Auth.OIDC.ClientID, "Client id users log in with (enclave login --client-id); the accepted audience when audience is empty.", false},
		{"auth.oidc.audience", &c.Auth.OIDC.Audience, `Accepted "aud" values; a token must name one. [] accepts client_id.`, false},
		{path: "auth.oidc.claims", help: "Names of the claims the caller's identity is read from."},
		{"auth.oidc.claims.subject", &c.Auth.OIDC.Claims.Subject, "Stable user id; owns runs.", false},
		{"auth.oidc.claims.name", &c.Auth.OIDC.Claims.Name, "Display name.", false},
		{"auth.oidc.claims.email", &c.Auth.OIDC.Claims.Email, "E-mail address.", false},
		{"auth.oidc.claims.groups", &c.Auth.OIDC.Claims.Groups, "Groups (a list or one string).", false},
		{"auth.oidc.claims.entitlements", &c.Auth.OIDC.Claims.Entitlements, "Entitlements (a list or one string).", false},
		{path: "auth.oidc.roles", help: "Groups or entitlements (exact match) that grant each role. A user with no role gets 403."},
		{"auth.oidc.roles.admin", &c.Auth.OIDC.Roles.Admin, "Administrators see and cancel every run.", false},
		{"auth.oidc.roles.data_controller", &c.Auth.OIDC.Roles.DataController, "Data controllers see every run.", false},
		{"auth.oidc.roles.researcher", &c.Auth.OIDC.Roles.Researcher, "Researchers submit runs and see their own.", false},
		{"auth.oidc.all_users_are_researchers", &c.Auth.OIDC.AllUsersAreResearchers, "Give every authenticated user the researcher role.", false},
		{"auth.oidc.required_entitlement", &c.Auth.OIDC.RequiredEntitlement, `Group or entitlement needed to use the service at all (others get 403); "" for none.`, false},
		{"auth.oidc.required_scope", &c.Auth.OIDC.RequiredScope, `Scope tokens must carry (others get 403); "" for none.`, false},
		{"auth.oidc.algorithms", &c.Auth.OIDC.Algorithms, "Accepted signature algorithms; none and HMAC are always refused.", false},
		{"auth.oidc.clock_skew", &c.Auth.OIDC.ClockSkew, "Leeway for exp, nbf and iat; at most 5m.", false},
		{"auth.oidc.jwks_refresh_interval", &c.Auth.OIDC.JWKSRefreshInterval, "Least time between two fetches of the provider's keys (an unknown key id triggers one).", false},
		{path: "auth.oidc.userinfo", help: "Userinfo lookups for claims a token lacks."},
		{"auth.oidc.userinfo.enabled", &c.Auth.OIDC.Userinfo.Enabled, "Ask the userinfo endpoint for configured claims missing from a token.", false},
		{"auth.oidc.userinfo.cache_ttl", &c.Auth.OIDC.Userinfo.CacheTTL, "How long an answer is reused for the same token (never past its expiry).", false},
		{"auth.oidc.max_token_bytes", &c.Auth.OIDC.MaxTokenBytes, "Largest bearer token accepted.", false},
		{"auth.oidc.discovery_timeout", &c.Auth.OIDC.DiscoveryTimeout, "How long the server retries reaching the provider at start before it exits.", false},

		{path: "portal", help: "The web application (login, catalogue, runs, review) served next to the API."},
		{"portal.enabled", &c.Portal.Enabled, "Serve the portal; false serves the API alone.", false},
		{"portal.prefix", &c.Portal.Prefix, "Path the portal is served under, starting and ending with /; /ga4gh/, /healthz and /readyz stay the API's.", false},
		{path: "portal.oidc", help: "The portal's own OIDC client (authorization code flow with PKCE). Used in auth.mode oidc."},
		{"portal.oidc.client_id", &c.Portal.OIDC.ClientID, `The portal's client id at the provider; "" uses auth.oidc.client_id.`, false},
		{"portal.oidc.client_secret", &c.Portal.OIDC.ClientSecret, `The client's secret; "" for a public client (PKCE only). Secret: redacted in logs; prefer client_secret_file or the environment variable.`, true},
		{"portal.oidc.client_secret_file", &c.Portal.OIDC.ClientSecretFile, "File holding the client's secret (instead of client_secret).", false},
		{"portal.oidc.redirect_url", &c.Portal.OIDC.RedirectURL, `Callback URL registered at the provider; "" is server.public_url + portal.prefix + "auth/callback" (or, without a public URL, derived from each request).`, false},
		{path: "portal.session", help: "Portal sessions, kept in Redis (the browser holds only an opaque cookie)."},
		{"portal.session.idle_timeout", &c.Portal.Session.IdleTimeout, "A session unused this long ends; the next page asks to log in again.", false},
		{"portal.session.absolute_timeout", &c.Portal.Session.AbsoluteTimeout, "A session ends this long after login, however active.", false},

		{path: "zone", help: "The sealed zone: validated workflows only, allow-listed egress, audit."},
		{"zone.mode", &c.Zone.Mode, "sealed: only catalogue workflows run and attachments are refused; open: plain WES (catalogue workflows run too when a catalogue is set). open is the default only without a configuration file: with a file it is sealed unless the file says open.", false},
		{"zone.catalog", &c.Zone.Catalog, `Catalogue file of validated workflows, datasets and usage policy; reloaded on SIGHUP. Required when sealed.`, false},
		{"zone.output_url_ttl", &c.Zone.OutputURLTTL, "How long presigned output URLs stay valid.", false},
		{"zone.max_file_bytes", &c.Zone.MaxFileBytes, "Largest file one run may release (a catalogue entry may set less).", false},
		{"zone.max_total_bytes", &c.Zone.MaxTotalBytes, "Most bytes one run may release.", false},
		{"zone.max_files", &c.Zone.MaxFiles, "Most files one run may release.", false},
		{"zone.retention", &c.Zone.Retention, "How long after it ended a run keeps its work dir, logs and released outputs; then the workers delete them as DELETE /runs/{id} does (the run's record and audit trail stay). 0 keeps them until deleted by hand.", false},
		{"zone.retention_interval", &c.Zone.RetentionInterval, "How often each worker looks for runs past zone.retention.", false},
		{path: "zone.results", help: "Where released outputs are stored."},
		{"zone.results.store", &c.Zone.Results.Store, "local (a directory) or s3 (MinIO/S3).", false},
		{"zone.results.local_dir", &c.Zone.Results.LocalDir, `Directory of the local store; "" is <data_dir>/results.`, false},
		{"zone.results.presigned_urls", &c.Zone.Results.PresignedURLs, "Hand out the store's presigned URLs (each audited when issued, output.url) instead of the API's download route (each download audited). Off by default: a presigned URL's fetches are not audited.", false},
		{path: "zone.results.s3", help: "The MinIO/S3 bucket of the s3 store."},
		{"zone.results.s3.endpoint", &c.Zone.Results.S3.Endpoint, "host:port of the S3 API.", false},
		{"zone.results.s3.public_endpoint", &c.Zone.Results.S3.PublicEndpoint, `host:port clients reach for presigned URLs; "" is endpoint.`, false},
		{"zone.results.s3.access_key", &c.Zone.Results.S3.AccessKey, "Access key id.", false},
		{"zone.results.s3.secret_key", &c.Zone.Results.S3.SecretKey, "Secret key. Secret: redacted in logs; prefer the environment variable.", true},
		{"zone.results.s3.bucket", &c.Zone.Results.S3.Bucket, "Bucket (created if missing).", false},
		{"zone.results.s3.region", &c.Zone.Results.S3.Region, "Region of the bucket.", false},
		{"zone.results.s3.use_ssl", &c.Zone.Results.S3.UseSSL, "Use https to reach the endpoint.", false},
		{path: "zone.review", help: "The data controllers' review of held outputs (catalogue entries with egress: review)."},
		{"zone.review.approvals", &c.Zone.Review.Approvals, "How many distinct reviewers must approve each held file before it is released (1 to 5); a catalogue entry's approvals may ask for more, never fewer. Nobody approves outputs of their own run.", false},

		{path: "audit", help: "The audit trail (kept in Redis)."},
		{path: "audit.checkpoint", help: "Signed checkpoints of the trail's head in the result store, so that a rewrite of the whole trail in Redis is detected (enclave audit verify --checkpoints)."},
		{"audit.checkpoint.key_file", &c.Audit.Checkpoint.KeyFile, `Ed25519 private key that signs the checkpoints: PEM PKCS#8 (openssl genpkey -algorithm ed25519), mode 0600, on the workers only, never on a Redis host. "" writes no checkpoints.`, false},
		{"audit.checkpoint.interval", &c.Audit.Checkpoint.Interval, "How often one worker (the holder of the checkpoint lease) signs the trail's head, when it moved since the last checkpoint. 0 writes none.", false},

		{path: "notify", help: "Notifications of run events: signed CloudEvents webhooks and e-mail. Nothing is sent unless webhooks or smtp.host are set."},
		{"notify.source", &c.Notify.Source, "CloudEvents source of every event.", false},
		{"notify.include_owner", &c.Notify.IncludeOwner, "Add the owner's subject (OIDC sub) to webhook payloads.", false},
		{"notify.allow_http_loopback", &c.Notify.AllowHTTPLoopback, "Let a webhook use http:// to a loopback host (tests, a local relay); all others need https.", false},
		{"notify.timeout", &c.Notify.Timeout, "Longest one delivery attempt (webhook POST or SMTP session) may take.", false},
		{"notify.max_retry", &c.Notify.MaxRetry, "Retries of a failed delivery before it is dead-lettered (archived, logged, counted).", false},
		{"notify.retry_base", &c.Notify.RetryBase, "Wait before the first retry; doubled per retry up to notify.retry_max.", false},
		{"notify.retry_max", &c.Notify.RetryMax, "Longest wait between two retries.", false},
		{"notify.webhooks", &c.Notify.Webhooks, "Receivers: a list of {url, secret_file (or secret), events}; events from run.terminal, outputs.pending_review, review.decided, output.released ([] for all). In the environment, a JSON list.", false},
		{path: "notify.smtp", help: "The mail server; host \"\" sends no mail."},
		{"notify.smtp.host", &c.Notify.SMTP.Host, `SMTP submission server; "" sends no mail.`, false},
		{"notify.smtp.port", &c.Notify.SMTP.Port, "Port of the server.", false},
		{"notify.smtp.username", &c.Notify.SMTP.Username, `User to authenticate as (PLAIN, only over TLS); "" for none.`, false},
		{"notify.smtp.password_file", &c.Notify.SMTP.PasswordFile, "File holding the SMTP password.", false},
		{"notify.smtp.from", &c.Notify.SMTP.From, "Sender address. Required with host.", false},
		{"notify.smtp.starttls", &c.Notify.SMTP.StartTLS, "required: never send without STARTTLS; opportunistic: upgrade when offered, else send in clear without credentials.", false},
		{"notify.smtp.ca_file", &c.Notify.SMTP.CAFile, `PEM certificates that verify the server; "" uses the system's.`, false},
		{path: "notify.email", help: "Who is mailed."},
		{"notify.email.reviewers", &c.Notify.Email.Reviewers, "Addresses mailed when outputs wait for review. Owners are mailed of their own runs when their token carried an e-mail address.", false},

		{path: "service_info", help: "What GET /service-info reports about this deployment."},
		{"service_info.id", &c.ServiceInfo.ID, "Reverse-domain id of the service.", false},
		{"service_info.name", &c.ServiceInfo.Name, "Display name.", false},
		{"service_info.description", &c.ServiceInfo.Description, "What this deployment is for.", false},
		{path: "service_info.organization", help: "The organization that runs this deployment."},
		{"service_info.organization.name", &c.ServiceInfo.Organization.Name, "Organization name.", false},
		{"service_info.organization.url", &c.ServiceInfo.Organization.URL, "Organization URL.", false},
		{"service_info.contact_url", &c.ServiceInfo.ContactURL, "mailto: or https: URL for help.", false},
		{"service_info.documentation_url", &c.ServiceInfo.DocumentationURL, "User documentation URL.", false},
		{"service_info.environment", &c.ServiceInfo.Environment, "Deployment stage, e.g. dev, test or prod.", false},
		{"service_info.auth_instructions_url", &c.ServiceInfo.AuthInstructionsURL, "Where users learn how to get a token.", false},

		{path: "metrics", help: "Prometheus metrics (GET /metrics)."},
		{"metrics.addr", &c.Metrics.Addr, `host:port of a listener for /metrics alone; "" serves /metrics on server.addr.`, false},
		{"metrics.token", &c.Metrics.Token, `Bearer token a scrape must send; "" needs none. Secret: redacted in logs; prefer the environment variable.`, true},
	}...)
}

// tagged lists the keys of the struct v points at, under prefix, from its fields' tags:
// yaml is the key, help what it does, and secret:"true" makes Redacted hide it. A
// struct field is a section of its own. It is how sections that other packages own
// (executor.*) join the table, one place per key.
func tagged(prefix string, v any) []field {
	var out []field
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		sf := rv.Type().Field(i)
		key := sf.Tag.Get("yaml")
		if key == "" || key == "-" {
			continue
		}
		path, help, fv := prefix+"."+key, sf.Tag.Get("help"), rv.Field(i)
		if fv.Kind() == reflect.Struct {
			out = append(out, field{path: path, help: help})
			out = append(out, tagged(path, fv.Addr().Interface())...)
			continue
		}
		out = append(out, field{path: path, ptr: fv.Addr().Interface(), help: help, secret: sf.Tag.Get("secret") == "true"})
	}
	return out
}

// EnvName returns the environment variable that sets the key path, e.g.
// "server.addr" → "ENCLAVE_SERVER_ADDR".
func EnvName(path string) string {
	return "ENCLAVE_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// Keys lists every key path of the configuration file (values only, not sections), in
// file order.
func Keys() []string {
	var c Config
	var keys []string
	for _, f := range c.fields() {
		if !f.section() {
			keys = append(keys, f.path)
		}
	}
	return keys
}

// kindName names the type a field wants, for error messages.
func kindName(ptr any) string {
	switch ptr.(type) {
	case *string:
		return "a string"
	case *int:
		return "an integer"
	case *bool:
		return "true or false"
	case *time.Duration:
		return "a duration with a unit, like 10s or 2m"
	case *ByteSize:
		return confkit.SizeKind
	case *[]string:
		return "a list of strings"
	case *Webhooks:
		return "a list of webhooks"
	}
	return "a mapping of keys"
}
