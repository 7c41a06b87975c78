package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		path   string // the key the error must name
		want   string // a fragment of its message
	}{
		{"addr empty", func(c *Config) { c.Server.Addr = "" }, "server.addr", "host:port"},
		{"addr without port", func(c *Config) { c.Server.Addr = "localhost" }, "server.addr", "host:port"},
		{"addr bad port", func(c *Config) { c.Server.Addr = "localhost:http" }, "server.addr", "0 to 65535"},
		{"addr port too big", func(c *Config) { c.Server.Addr = "localhost:70000" }, "server.addr", "0 to 65535"},
		{"addr bad host", func(c *Config) { c.Server.Addr = "a/b:80" }, "server.addr", "not a host name"},
		{"public_url relative", func(c *Config) { c.Server.PublicURL = "/wes" }, "server.public_url", "absolute http(s) URL"},
		{"public_url ftp", func(c *Config) { c.Server.PublicURL = "ftp://x.org" }, "server.public_url", "absolute http(s) URL"},
		{"public_url with user", func(c *Config) { c.Server.PublicURL = "https://u:p@x.org" }, "server.public_url", "user name or password"},
		{"public_url with query", func(c *Config) { c.Server.PublicURL = "https://x.org/?a=1" }, "server.public_url", "query"},
		{"read_header_timeout zero", func(c *Config) { c.Server.ReadHeaderTimeout = 0 }, "server.read_header_timeout", "more than 0"},
		{"shutdown_timeout negative", func(c *Config) { c.Server.ShutdownTimeout = -time.Second }, "server.shutdown_timeout", "more than 0"},
		{"max_request_bytes zero", func(c *Config) { c.Server.MaxRequestBytes = 0 }, "server.max_request_bytes", "more than 0"},
		{"max_attachment_bytes zero", func(c *Config) { c.Server.MaxAttachmentBytes = 0 }, "server.max_attachment_bytes", "more than 0"},
		{"attachment over request", func(c *Config) { c.Server.MaxAttachmentBytes = 300 << 20 }, "server.max_attachment_bytes", "larger than server.max_request_bytes"},
		{"max_parts zero", func(c *Config) { c.Server.MaxParts = 0 }, "server.max_parts", "1 or more"},
		{"default_page_size zero", func(c *Config) { c.Server.DefaultPageSize = 0 }, "server.default_page_size", "1 or more"},
		{"max_page_size zero", func(c *Config) { c.Server.MaxPageSize = 0 }, "server.max_page_size", "1 or more"},
		{"default over max page", func(c *Config) { c.Server.DefaultPageSize = 600 }, "server.default_page_size", "larger than server.max_page_size"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", "debug, info, warn, error"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", "text, json"},
		{"redis addr", func(c *Config) { c.Redis.Addr = "redis" }, "redis.addr", "host:port"},
		{"redis db", func(c *Config) { c.Redis.DB = -1 }, "redis.db", "0 or more"},
		{"key_prefix empty", func(c *Config) { c.Redis.KeyPrefix = "" }, "redis.key_prefix", "must not be empty"},
		{"key_prefix space", func(c *Config) { c.Redis.KeyPrefix = "a b" }, "redis.key_prefix", "white space"},
		{"queue empty", func(c *Config) { c.Redis.Queue = "" }, "redis.queue", "must not be empty"},
		{"queue space", func(c *Config) { c.Redis.Queue = "q\t" }, "redis.queue", "white space"},
		{"startup_timeout negative", func(c *Config) { c.Redis.StartupTimeout = -time.Second }, "redis.startup_timeout", "must not be negative"},
		{"embedded needs in-process worker", func(c *Config) { c.Worker.InProcess = false }, "worker.in_process", "redis.addr is empty"},
		{"concurrency", func(c *Config) { c.Worker.Concurrency = 0 }, "worker.concurrency", "1 or more"},
		{"task_check_interval", func(c *Config) { c.Worker.TaskCheckInterval = 0 }, "worker.task_check_interval", "more than 0"},
		{"reconcile_interval", func(c *Config) { c.Worker.ReconcileInterval = 0 }, "worker.reconcile_interval", "more than 0"},
		{"step_timeout", func(c *Config) { c.Worker.StepTimeout = 0 }, "worker.step_timeout", "more than 0"},
		{"max_start_attempts", func(c *Config) { c.Worker.MaxStartAttempts = 0 }, "worker.max_start_attempts", "1 or more"},
		{"data_dir", func(c *Config) { c.DataDir = " " }, "data_dir", "must not be empty"},
		{"executor name", func(c *Config) { c.Executor.Default = "Local Exec" }, "executor.default", "not an executor name"},
		{"executor empty", func(c *Config) { c.Executor.Default = "" }, "executor.default", "not an executor name"},
		{"executor not enabled", func(c *Config) { c.Executor.Default = "docker" }, "executor.default", "not an enabled executor"},
		{"slurm without known_hosts", func(c *Config) {
			c.Executor.Slurm = SlurmExecutorConfig{Enabled: true, Mode: "ssh", SSH: SlurmSSHConfig{Addr: "h:22", User: "u", KeyFile: "/k"}}
		}, "executor.slurm.ssh.known_hosts_file", "host keys are always verified"},
		{"docker as root", func(c *Config) {
			c.Executor.Docker = DockerExecutorConfig{Enabled: true, Image: "i", User: "0:0", Grace: time.Second}
		}, "executor.docker.user", "non-root"},
		{"docker relative dataset root", func(c *Config) {
			c.Executor.Docker = DockerExecutorConfig{Enabled: true, Image: "i", User: "1:1", Grace: time.Second, DatasetRoots: []string{"/zone", "data"}}
		}, "executor.docker.dataset_roots[1]", "absolute"},
		{"kubernetes without namespace", func(c *Config) { c.Executor.Kubernetes = k8sOK(func(k *KubernetesExecutorConfig) { k.Namespace = "" }) },
			"executor.kubernetes.namespace", "required"},
		{"kubernetes as root", func(c *Config) { c.Executor.Kubernetes = k8sOK(func(k *KubernetesExecutorConfig) { k.RunAsUser = 0 }) },
			"executor.kubernetes.run_as_user", "non-root"},
		{"kubernetes pulling", func(c *Config) {
			c.Executor.Kubernetes = k8sOK(func(k *KubernetesExecutorConfig) { k.ImagePullPolicy = "Always" })
		}, "executor.kubernetes.image_pull_policy", "IfNotPresent"},
		{"kubernetes two data volumes", func(c *Config) {
			c.Executor.Kubernetes = k8sOK(func(k *KubernetesExecutorConfig) { k.DataHostPath = "/srv/data" })
		}, "executor.kubernetes.data_claim", "exactly one"},
		{"kubernetes bad dataset volume", func(c *Config) {
			c.Executor.Kubernetes = k8sOK(func(k *KubernetesExecutorConfig) { k.Datasets = []string{"/zone/a=pvc:ok", "/zone/b=nfs:server"} })
		}, "executor.kubernetes.datasets[1]", "want"},
		{"kubernetes bad node selector", func(c *Config) {
			c.Executor.Kubernetes = k8sOK(func(k *KubernetesExecutorConfig) { k.NodeSelector = []string{"pool"} })
		}, "executor.kubernetes.node_selector[0]", "key=value"},
		{"tes without url", func(c *Config) { c.Executor.TES = TESExecutorConfig{Enabled: true, Image: "i", Timeout: time.Second} },
			"executor.tes.url", "required"},
		{"tes credentials in url", func(c *Config) {
			c.Executor.TES = TESExecutorConfig{Enabled: true, URL: "https://u:p@tes.internal/v1", Image: "i", Timeout: time.Second}
		}, "executor.tes.url", "must not carry credentials"},
		{"tes token and password", func(c *Config) {
			c.Executor.TES = TESExecutorConfig{Enabled: true, URL: "https://tes.internal/v1", Image: "i", Timeout: time.Second,
				Token: "t", Username: "u", Password: "p"}
		}, "executor.tes.token", "not both"},
		{"tes relative allowed dir", func(c *Config) {
			c.Executor.TES = TESExecutorConfig{Enabled: true, URL: "https://tes.internal/v1", Image: "i", Timeout: time.Second,
				AllowedDirs: []string{"data"}}
		}, "executor.tes.allowed_dirs[0]", "absolute"},
		{"grace negative", func(c *Config) { c.Executor.Local.Grace = -time.Second }, "executor.local.grace", "negative"},
		{"retention negative", func(c *Config) { c.Zone.Retention = -time.Hour }, "zone.retention", "must not be negative"},
		{"retention_interval zero", func(c *Config) { c.Zone.RetentionInterval = 0 }, "zone.retention_interval", "more than 0"},
		{"discovery_retry_max too short", func(c *Config) { c.Engines.DiscoveryRetryMax = time.Millisecond }, "engines.discovery_retry_max", "at least 1s"},
		{"snakemake binary", func(c *Config) { c.Engines.Snakemake.Binary = "" }, "engines.snakemake.binary", "program"},
		{"snakemake versions", func(c *Config) { c.Engines.Snakemake.Versions = []string{"8.0", "7 21"} }, "engines.snakemake.versions[1]", "not a version"},
		{"snakemake cores", func(c *Config) { c.Engines.Snakemake.DefaultCores = 0 }, "engines.snakemake.default_cores", "1 or more"},
		{"snakemake cores too many", func(c *Config) { c.Engines.Snakemake.DefaultCores = 65 }, "engines.snakemake.default_cores", "at most 64"},
		{"cwltool binary", func(c *Config) { c.Engines.Cwltool.Binary = "" }, "engines.cwltool.binary", "program"},
		{"cwltool versions", func(c *Config) { c.Engines.Cwltool.Versions = []string{""} }, "engines.cwltool.versions[0]", "not a version"},
		{"nextflow binary", func(c *Config) { c.Engines.Nextflow.Binary = " " }, "engines.nextflow.binary", "program"},
		{"nextflow versions", func(c *Config) { c.Engines.Nextflow.Versions = []string{"a,b"} }, "engines.nextflow.versions[0]", "not a version"},
		{"auth mode", func(c *Config) { c.Auth.Mode = "magic" }, "auth.mode", "not one of none"},
		{"service id", func(c *Config) { c.ServiceInfo.ID = "" }, "service_info.id", "reverse-domain"},
		{"service id space", func(c *Config) { c.ServiceInfo.ID = "org example" }, "service_info.id", "reverse-domain"},
		{"service name", func(c *Config) { c.ServiceInfo.Name = "" }, "service_info.name", "must not be empty"},
		{"organization name", func(c *Config) { c.ServiceInfo.Organization.Name = "" }, "service_info.organization.name", "must not be empty"},
		{"organization url", func(c *Config) { c.ServiceInfo.Organization.URL = "" }, "service_info.organization.url", "absolute http(s) URL"},
		{"contact mailto", func(c *Config) { c.ServiceInfo.ContactURL = "mailto:" }, "service_info.contact_url", "mailto: address"},
		{"contact other", func(c *Config) { c.ServiceInfo.ContactURL = "call us" }, "service_info.contact_url", "absolute http(s) URL"},
		{"documentation url", func(c *Config) { c.ServiceInfo.DocumentationURL = "docs" }, "service_info.documentation_url", "absolute http(s) URL"},
		{"auth instructions url", func(c *Config) { c.ServiceInfo.AuthInstructionsURL = "x" }, "service_info.auth_instructions_url", "absolute http(s) URL"},
		{"oidc needs an issuer", func(c *Config) { c.Auth.Mode = "oidc" }, "auth.oidc.issuer", "is required with auth.mode oidc"},
		{"oidc needs an audience", func(c *Config) { c.Auth.Mode = "oidc" }, "auth.oidc.audience", "client_id"},
		{"oidc needs a role", func(c *Config) { c.Auth.Mode = "oidc" }, "auth.oidc.roles", "every user would get 403"},
		{"issuer not a URL", func(c *Config) { c.Auth.OIDC.Issuer = "login.example.org" }, "auth.oidc.issuer", "absolute https URL"},
		{"issuer plain http", func(c *Config) { c.Auth.OIDC.Issuer = "http://login.example.org" }, "auth.oidc.issuer", "must use https"},
		{"issuer with query", func(c *Config) { c.Auth.OIDC.Issuer = "https://login.example.org/?a=b" }, "auth.oidc.issuer", "query"},
		{"empty audience", func(c *Config) { c.Auth.OIDC.Audience = []string{"a", " "} }, "auth.oidc.audience[1]", "must not be empty"},
		{"empty claim name", func(c *Config) { c.Auth.OIDC.Claims.Subject = "" }, "auth.oidc.claims.subject", "must name a claim"},
		{"empty role entry", func(c *Config) { c.Auth.OIDC.Roles.Admin = []string{""} }, "auth.oidc.roles.admin[0]", "must not be empty"},
		{"algorithm none", func(c *Config) { c.Auth.OIDC.Algorithms = []string{"RS256", "none"} }, "auth.oidc.algorithms[1]", "never accepted"},
		{"algorithm HMAC", func(c *Config) { c.Auth.OIDC.Algorithms = []string{"HS256"} }, "auth.oidc.algorithms[0]", "never accepted"},
		{"no algorithms", func(c *Config) { c.Auth.OIDC.Algorithms = []string{} }, "auth.oidc.algorithms", "at least one"},
		{"clock skew too large", func(c *Config) { c.Auth.OIDC.ClockSkew = 10 * time.Minute }, "auth.oidc.clock_skew", "between 0s and 5m"},
		{"clock skew negative", func(c *Config) { c.Auth.OIDC.ClockSkew = -time.Second }, "auth.oidc.clock_skew", "between"},
		{"jwks refresh zero", func(c *Config) { c.Auth.OIDC.JWKSRefreshInterval = 0 }, "auth.oidc.jwks_refresh_interval", "more than 0"},
		{"userinfo ttl zero", func(c *Config) { c.Auth.OIDC.Userinfo.CacheTTL = 0 }, "auth.oidc.userinfo.cache_ttl", "more than 0"},
		{"discovery timeout zero", func(c *Config) { c.Auth.OIDC.DiscoveryTimeout = 0 }, "auth.oidc.discovery_timeout", "more than 0"},
		{"max token bytes", func(c *Config) { c.Auth.OIDC.MaxTokenBytes = 100 }, "auth.oidc.max_token_bytes", "between 1KiB and 1MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			if !strings.Contains(err.Error(), tt.path+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %q, want %q naming %q", err, tt.want, tt.path)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("Validate() error is not a *FieldError")
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	c := Default()
	c.Redis.Addr = "redis.internal:6379"
	c.Worker.InProcess = false // fine once a real Redis is named
	c.Server.Addr = "127.0.0.1:9090"
	c.Server.PublicURL = "https://wes.example.org/ga4gh"
	c.ServiceInfo.ContactURL = "mailto:help@example.org"
	c.Executor.Default = "slurm"
	c.Executor.Slurm = SlurmExecutorConfig{Enabled: true, Mode: "ssh", SSH: SlurmSSHConfig{Addr: "login.hpc.example.org:22",
		User: "enclave", KeyFile: "/etc/enclave/ssh/id_ed25519", KnownHostsFile: "/etc/enclave/ssh/known_hosts"}}
	c.Executor.Local.Grace = 0
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	for name, edit := range map[string]func(*OIDCConfig){
		"LS-Login":           func(o *OIDCConfig) { o.Issuer = "https://login.aai.lifescience-ri.eu/oidc/"; o.ClientID = "x" },
		"loopback Dex":       func(o *OIDCConfig) { o.Issuer = "http://127.0.0.1:15556/dex"; o.Audience = []string{"wes-client"} },
		"localhost":          func(o *OIDCConfig) { o.Issuer = "http://localhost:5556"; o.ClientID = "x" },
		"all users research": func(o *OIDCConfig) { o.Roles.Researcher = nil; o.AllUsersAreResearchers = true },
	} {
		c := Default()
		c.Auth.Mode = "oidc"
		c.Auth.OIDC.Issuer, c.Auth.OIDC.ClientID = "https://idp.example.org", "enclave"
		c.Auth.OIDC.Roles.Researcher = []string{"researchers"}
		edit(&c.Auth.OIDC)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Server.Addr = "nope"
	c.Log.Level = "loud"
	c.Worker.Concurrency = -1
	err := c.Validate()
	for _, p := range []string{"server.addr: ", "log.level: ", "worker.concurrency: "} {
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("Validate() = %v, missing %q", err, p)
		}
	}
}

func TestValidateNeverShowsSecrets(t *testing.T) {
	c := Default()
	c.Redis.Password = "hunter2"
	c.Redis.Addr = "bad"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Validate() = %v", err)
	}
}

// Authentication is off by default only on loopback: anywhere else auth.mode none must be
// written out.
func TestAuthOffOnlyOnLoopbackByDefault(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true,
		":8080": false, "0.0.0.0:8080": false, "10.1.2.3:8080": false} {
		c, err := Load("", []string{"ENCLAVE_SERVER_ADDR=" + addr})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("addr %s with auth off by default: Validate() = %v, want ok=%v", addr, err, ok)
		}
		c, err = Load("", []string{"ENCLAVE_SERVER_ADDR=" + addr, "ENCLAVE_AUTH_MODE=none"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("addr %s with auth.mode none written out: Validate() = %v", addr, err)
		}
	}
}

// k8sOK is a valid enabled kubernetes executor configuration, changed by edit.
func k8sOK(edit func(*KubernetesExecutorConfig)) KubernetesExecutorConfig {
	k := Default().Executor.Kubernetes
	k.Enabled, k.Namespace, k.Image, k.DataClaim = true, "enclave-jobs", "engines:1", "enclave-data"
	k.Datasets = []string{"/zone/datasets=pvc:enclave-datasets:v1", "/zone/ref=host:/mnt/ref"}
	edit(&k)
	return k
}

func TestKubernetesConfigParses(t *testing.T) {
	k := k8sOK(func(k *KubernetesExecutorConfig) { k.NodeSelector = []string{"enclave/pool=jobs"} })
	c := Default()
	c.Executor.Kubernetes, c.Executor.Default = k, "kubernetes"
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	vs, err := k.ParseDatasets()
	want := []KubernetesVolume{{ZonePath: "/zone/datasets", Claim: "enclave-datasets", SubPath: "v1"}, {ZonePath: "/zone/ref", HostPath: "/mnt/ref"}}
	if err != nil || !slices.Equal(vs, want) {
		t.Errorf("ParseDatasets() = %+v, %v; want %+v", vs, err, want)
	}
	if sel, err := k.ParseNodeSelector(); err != nil || sel["enclave/pool"] != "jobs" || len(sel) != 1 {
		t.Errorf("ParseNodeSelector() = %v, %v", sel, err)
	}
}
