package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "enclave.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultIsValidAndEmbedded(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if !c.Embedded() {
		t.Error("Default().Embedded() = false, want true")
	}
	if got, want := c.LocalStateDir(), filepath.Join("enclave-data", "executor", "local"); got != want {
		t.Errorf("LocalStateDir() = %q, want %q", got, want)
	}
	c.Executor.Local.StateDir = "/srv/state"
	if got := c.LocalStateDir(); got != "/srv/state" {
		t.Errorf("LocalStateDir() = %q, want /srv/state", got)
	}
	c.Redis.Addr = "127.0.0.1:6379"
	if c.Embedded() {
		t.Error("Embedded() with redis.addr set = true")
	}
}

// leafPaths walks Config by its yaml tags and returns each value field's path and address.
func leafPaths(v reflect.Value, prefix string, out *[]string, addrs map[string]uintptr) {
	for i := 0; i < v.NumField(); i++ {
		sf := v.Type().Field(i)
		tag := sf.Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct {
			*out = append(*out, path)
			leafPaths(fv, path, out, addrs)
			continue
		}
		*out = append(*out, path)
		addrs[path] = fv.Addr().Pointer()
	}
}

// The key table is hand-maintained beside the struct; this keeps the two in step.
func TestFieldTableMatchesStruct(t *testing.T) {
	var c Config
	var want []string
	addrs := map[string]uintptr{}
	leafPaths(reflect.ValueOf(&c).Elem(), "", &want, addrs)
	var got []string
	envs := map[string]string{}
	for _, f := range c.fields() {
		got = append(got, f.path)
		if f.section() {
			if _, isLeaf := addrs[f.path]; isLeaf {
				t.Errorf("%s is a value in Config but a section in the table", f.path)
			}
			continue
		}
		if p := reflect.ValueOf(f.ptr).Pointer(); p != addrs[f.path] {
			t.Errorf("table entry %s points at another field", f.path)
		}
		if f.help == "" {
			t.Errorf("table entry %s has no help", f.path)
		}
		name := EnvName(f.path)
		if other, dup := envs[name]; dup {
			t.Errorf("%s and %s share the environment variable %s", other, f.path, name)
		}
		envs[name] = f.path
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("table paths differ from struct paths\n got %v\nwant %v", got, want)
	}
	for _, reserved := range []string{"ENCLAVE_CONFIG", "ENCLAVE_URL", "ENCLAVE_TOKEN"} {
		if p, ok := envs[reserved]; ok {
			t.Errorf("key %s takes the environment variable %s, which the CLI uses", p, reserved)
		}
	}
}

func TestLoadWithoutFileOrEnvIsDefault(t *testing.T) {
	c, err := Load("", []string{"PATH=/usr/bin", "ENCLAVE_URL=http://x", "ENCLAVE_TOKEN=t"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load(\"\", env) = %+v, want Default()", c)
	}
}

func TestLoadFile(t *testing.T) {
	p := writeFile(t, `
server:
  addr: 0.0.0.0:9000
  public_url: https://wes.example.org
  shutdown_timeout: 1m30s
  max_request_bytes: 1GiB
  max_attachment_bytes: 1048576
  max_parts: 20
log: {level: debug, format: json}
redis:
  addr: redis:6379
  password: s3cret
  db: 2
worker:
  in_process: false
  task_check_interval: 5ms
data_dir: /srv/enclave
engines:
  snakemake:
    versions: ["7.21", "8.0"]
  cwltool:
    use_containers: true
  nextflow:
    versions: []
auth:
  oidc:
    issuer: https://login.aai.lifescience-ri.eu/oidc/
    client_id: enclave-wes
    claims: {groups: memberships}
    roles:
      researcher: ["urn:geant:lifescience-ri.eu:group:spe4hd#aai.lifescience-ri.eu"]
    algorithms: [RS256]
    clock_skew: 10s
    userinfo: {enabled: true}
    max_token_bytes: 32KiB
zone:
  catalog: /srv/catalog.yaml
service_info:
  organization:
    name: Example
  contact_url:
`)
	got, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Server.Addr = "0.0.0.0:9000"
	want.Server.PublicURL = "https://wes.example.org"
	want.Server.ShutdownTimeout = 90 * time.Second
	want.Server.MaxRequestBytes = 1 << 30
	want.Server.MaxAttachmentBytes = 1 << 20
	want.Server.MaxParts = 20
	want.Log = LogConfig{Level: "debug", Format: "json"}
	want.Redis.Addr = "redis:6379"
	want.Redis.Password = "s3cret"
	want.Redis.DB = 2
	want.Worker.InProcess = false
	want.Worker.TaskCheckInterval = 5 * time.Millisecond
	want.DataDir = "/srv/enclave"
	want.Engines.Snakemake.Versions = []string{"7.21", "8.0"}
	want.Engines.Cwltool.UseContainers = true
	want.Engines.Nextflow.Versions = []string{}
	want.ServiceInfo.Organization.Name = "Example"
	want.ServiceInfo.ContactURL = ""
	want.Auth.Mode = "oidc" // the default as soon as a file is loaded
	want.Auth.OIDC.Issuer = "https://login.aai.lifescience-ri.eu/oidc/"
	want.Auth.OIDC.ClientID = "enclave-wes"
	want.Auth.OIDC.Claims.Groups = "memberships"
	want.Auth.OIDC.Roles.Researcher = []string{"urn:geant:lifescience-ri.eu:group:spe4hd#aai.lifescience-ri.eu"}
	want.Auth.OIDC.Algorithms = []string{"RS256"}
	want.Auth.OIDC.ClockSkew = 10 * time.Second
	want.Auth.OIDC.Userinfo.Enabled = true
	want.Auth.OIDC.MaxTokenBytes = 32 << 10
	want.Zone.Mode = "sealed" // the default as soon as a file is loaded
	want.Zone.Catalog = "/srv/catalog.yaml"
	want.file = got.file // provenance, checked in TestServerPaths
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load(file)\n got %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestAuthModeDefault(t *testing.T) {
	tests := []struct {
		name string
		file string // "" = no file
		env  []string
		want string
	}{
		{"no file: the embedded default runs without auth", "", nil, "none"},
		{"a file without auth: oidc", "log:\n  level: info\n", nil, "oidc"},
		{"an empty file: oidc", "\n", nil, "oidc"},
		{"a file with auth but no mode: oidc", "auth:\n  oidc:\n    issuer: https://idp.example.org\n", nil, "oidc"},
		{"a file saying none", "auth:\n  mode: none\n", nil, "none"},
		{"the environment says none", "log:\n  level: info\n", []string{"ENCLAVE_AUTH_MODE=none"}, "none"},
		{"no file, the environment says oidc", "", []string{"ENCLAVE_AUTH_MODE=oidc"}, "oidc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			c, err := Load(path, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.Auth.Mode != tt.want {
				t.Errorf("auth.mode = %q, want %q", c.Auth.Mode, tt.want)
			}
		})
	}
	// A file that forgets the provider does not validate: it never falls back to no auth.
	c, err := Load(writeFile(t, "redis:\n  addr: 127.0.0.1:6379\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "auth.oidc.issuer: ") {
		t.Errorf("Validate() of a file without an issuer = %v", err)
	}
}

func TestLoadEnvOverridesFile(t *testing.T) {
	p := writeFile(t, "server:\n  addr: 0.0.0.0:9000\nredis:\n  addr: redis:6379\n")
	env := []string{
		"ENCLAVE_SERVER_ADDR=127.0.0.1:9999",
		"ENCLAVE_REDIS_PASSWORD=from-env",
		"ENCLAVE_WORKER_IN_PROCESS=false",
		"ENCLAVE_WORKER_STEP_TIMEOUT=45s",
		"ENCLAVE_SERVER_MAX_REQUEST_BYTES=10MB",
		"ENCLAVE_SERVER_MAX_PARTS=7",
		"ENCLAVE_ENGINES_SNAKEMAKE_VERSIONS= 7.21 ,8.0,",
		"ENCLAVE_SERVICE_INFO_ORGANIZATION_URL=https://example.org",
		"ENCLAVE_AUTH_OIDC_ISSUER=https://idp.example.org/",
		"ENCLAVE_AUTH_OIDC_ROLES_DATA_CONTROLLER=dc-1,dc-2",
		"ENCLAVE_AUTH_OIDC_USERINFO_CACHE_TTL=1m",
		"ENCLAVE_NOT_A_KEY=ignored",
		"NOT_ENCLAVE=1",
	}
	c, err := Load(p, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"server.addr", c.Server.Addr, "127.0.0.1:9999"},
		{"redis.addr (file only)", c.Redis.Addr, "redis:6379"},
		{"redis.password", c.Redis.Password, "from-env"},
		{"worker.in_process", c.Worker.InProcess, false},
		{"worker.step_timeout", c.Worker.StepTimeout, 45 * time.Second},
		{"server.max_request_bytes", c.Server.MaxRequestBytes, ByteSize(10_000_000)},
		{"server.max_parts", c.Server.MaxParts, 7},
		{"engines.snakemake.versions", c.Engines.Snakemake.Versions, []string{"7.21", "8.0"}},
		{"service_info.organization.url", c.ServiceInfo.Organization.URL, "https://example.org"},
		{"auth.oidc.issuer", c.Auth.OIDC.Issuer, "https://idp.example.org/"},
		{"auth.oidc.roles.data_controller", c.Auth.OIDC.Roles.DataController, []string{"dc-1", "dc-2"}},
		{"auth.oidc.userinfo.cache_ttl", c.Auth.OIDC.Userinfo.CacheTTL, time.Minute},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string   // "" = no file
		env  []string //
		want []string // fragments, each must appear in the error
	}{
		{"unknown key with suggestion", "server:\n  adr: x:1\n", nil, []string{"server.adr", "unknown key; did you mean server.addr?"}},
		{"unknown top-level key", "nonsense_section: 1\n", nil, []string{"nonsense_section", "unknown key", "print-default"}},
		{"unknown nested key", "engines:\n  snakemake:\n    cores: 4\n", nil, []string{"engines.snakemake.cores (from ", "unknown key"}},
		{"number for a string", "redis:\n  password: 12345\n", nil, []string{"redis.password", "want a string, got the number 12345 (quote it)"}},
		{"number for a duration", "server:\n  shutdown_timeout: 20\n", nil, []string{"server.shutdown_timeout", "duration with a unit"}},
		{"bad duration", "worker:\n  step_timeout: soon\n", nil, []string{"worker.step_timeout", `"soon"`}},
		{"bad bool", "worker:\n  in_process: maybe\n", nil, []string{"worker.in_process", "true or false"}},
		{"bad int", "server:\n  max_parts: many\n", nil, []string{"server.max_parts", "want an integer"}},
		{"float for an int", "server:\n  max_parts: 1.5\n", nil, []string{"server.max_parts", "want an integer, got the number 1.5"}},
		{"bad size", "server:\n  max_request_bytes: 10 parsecs\n", nil, []string{"server.max_request_bytes", "a size"}},
		{"number in a list", "engines:\n  snakemake:\n    versions: [8.0]\n", nil, []string{"engines.snakemake.versions", "item 0", "quote it"}},
		{"string for a list", "engines:\n  snakemake:\n    versions: 8.1.0\n", nil, []string{"engines.snakemake.versions", "list of strings"}},
		{"section as scalar", "server: 8080\n", nil, []string{"server", "want a mapping of keys, got the number 8080"}},
		{"value as mapping", "server:\n  addr:\n    host: x\n    port: 1\n", nil, []string{"server.addr", "want a string, got a mapping"}},
		{"source is named", "server:\n  max_parts: x\n", nil, []string{"(from "}},
		{"bad env value names the variable", "", []string{"ENCLAVE_SERVER_MAX_PARTS=lots"}, []string{"server.max_parts (from ENCLAVE_SERVER_MAX_PARTS)", "want an integer"}},
		{"every problem is reported", "server:\n  max_parts: x\n  adr: y\n", []string{"ENCLAVE_WORKER_CONCURRENCY=z"},
			[]string{"server.max_parts", "server.adr", "worker.concurrency"}},
		{"bad yaml", "server: [\n", nil, []string{"config file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			_, err := Load(path, tt.env)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil {
		t.Error("Load(missing file) succeeded")
	}
}

func TestLoadErrorsAreFieldErrors(t *testing.T) {
	_, err := Load(writeFile(t, "server:\n  max_parts: x\n"), nil)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "server.max_parts" {
		t.Fatalf("error %v: want a *FieldError for server.max_parts", err)
	}
}

func TestRedacted(t *testing.T) {
	c := Default()
	c.Redis.Password = "hunter2"
	c.Engines.Snakemake.Versions = []string{"7.21"}
	r := c.Redacted()
	if r.Redis.Password != RedactedValue {
		t.Errorf("Redacted().Redis.Password = %q, want %q", r.Redis.Password, RedactedValue)
	}
	if c.Redis.Password != "hunter2" {
		t.Error("Redacted changed the original")
	}
	r.Engines.Snakemake.Versions[0] = "changed"
	if c.Engines.Snakemake.Versions[0] != "7.21" {
		t.Error("Redacted shares list memory with the original")
	}
	if strings.Contains(r.YAML(), "hunter2") {
		t.Error("Redacted().YAML() shows the password")
	}
	if Default().Redacted().Redis.Password != "" {
		t.Error("Redacted() of an unset secret is not empty")
	}
}

func TestReferenceLoadsBackToDefault(t *testing.T) {
	ref := Reference()
	for _, k := range Keys() {
		if !strings.Contains(ref, EnvName(k)) {
			t.Errorf("Reference() does not mention %s", EnvName(k))
		}
	}
	c, err := Load(writeFile(t, ref), nil)
	if err != nil {
		t.Fatalf("Load(Reference()) = %v", err)
	}
	if !c.authModeGiven {
		t.Error("Load(Reference()): auth.mode is written out in the reference, but not recorded as given")
	}
	c.authModeGiven = false // provenance, not a value: compared above
	c.file = ""             // provenance too
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load(Reference()) = %+v, want Default()", c)
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	want := Default()
	want.Redis.Addr = "redis:6379"
	want.Redis.KeyPrefix = "a: b #c"
	want.Server.MaxRequestBytes = 12345
	want.Worker.StepTimeout = 90 * time.Minute
	want.Engines.Snakemake.Versions = []string{"8.0", "true"}
	got, err := Load(writeFile(t, want.YAML()), nil)
	if err != nil {
		t.Fatal(err)
	}
	want.authModeGiven = true // YAML() writes every key out, auth.mode included
	got.file = ""             // provenance, not a value
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load(c.YAML())\n got %+v\nwant %+v", got, want)
	}
}

func TestSet(t *testing.T) {
	c := Default()
	if err := c.Set("log.level", "debug"); err != nil || c.Log.Level != "debug" {
		t.Errorf("Set(log.level, debug) = %v, level %q", err, c.Log.Level)
	}
	if err := c.Set("server.max_request_bytes", "2GiB"); err != nil || c.Server.MaxRequestBytes != 2<<30 {
		t.Errorf("Set(server.max_request_bytes) = %v, %d", err, c.Server.MaxRequestBytes)
	}
	if err := c.Set("server.addr.x", "1"); err == nil {
		t.Error("Set(unknown key) succeeded")
	}
	if err := c.Set("server", "1"); err == nil {
		t.Error("Set(section) succeeded")
	}
	err := c.Set("worker.concurrency", "ten")
	if err == nil || !strings.HasPrefix(err.Error(), "worker.concurrency: ") {
		t.Errorf("Set(bad value) = %v, want an error naming worker.concurrency", err)
	}
}

func TestByteSize(t *testing.T) {
	parse := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"0", 0, true},
		{"1048576", 1 << 20, true},
		{"100MiB", 100 << 20, true},
		{"2 gib", 2 << 30, true},
		{"10KB", 10_000, true},
		{"3B", 3, true},
		{"1TiB", 1 << 40, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"1.5GiB", 0, false},
		{"-1", 0, false},
		{"10 parsecs", 0, false},
		{"99999999999TiB", 0, false},
	}
	for _, tt := range parse {
		got, err := ParseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for b, want := range map[ByteSize]string{0: "0", 256 << 20: "256MiB", 1536: "1536", 3 << 10: "3KiB", 5_000_000: "5MB", 7: "7"} {
		if got := b.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(b), got, want)
		}
	}
}
