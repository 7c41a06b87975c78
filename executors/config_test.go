package executors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/config/confkit"
	"github.com/spe4hd/enclave/pkg/wes"
)

func TestMain(m *testing.M) {
	local.MaybeShim() // Open builds a local executor whose shim is this test binary
	m.Run()
}

// Each built-in's settings are the Config field named after it, and every key of the
// executor section has help for `enclave config print-default`.
func TestBuiltinsMatchConfig(t *testing.T) {
	ct := reflect.TypeOf(Config{})
	var sections []string
	for i := range ct.NumField() {
		if f := ct.Field(i); f.Type.Kind() == reflect.Struct {
			sections = append(sections, f.Tag.Get("yaml"))
		}
	}
	if got := builtinNames(); !slices.Equal(got, sections) {
		t.Fatalf("builtins %v, Config sections %v: want the same, in the same order", got, sections)
	}
	c := DefaultConfig()
	cv := reflect.ValueOf(c)
	for i, b := range builtins {
		if got, want := b.settings(c), cv.FieldByName(ct.Field(i+1).Name).Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("builtin %s reads another section: %#v", b.name, got)
		}
	}
	var noHelp func(prefix string, t reflect.Type) []string
	noHelp = func(prefix string, st reflect.Type) []string {
		var out []string
		for i := range st.NumField() {
			f := st.Field(i)
			path := prefix + "." + f.Tag.Get("yaml")
			if f.Tag.Get("help") == "" {
				out = append(out, path)
			}
			if f.Type.Kind() == reflect.Struct {
				out = append(out, noHelp(path, f.Type)...)
			}
		}
		return out
	}
	if missing := noHelp("executor", ct); len(missing) > 0 {
		t.Errorf("keys without a help tag: %v", missing)
	}
}

// The executor parameters come from the executors: SLURM's placement ones first, then
// the resources every executor honours, each once.
func TestParams(t *testing.T) {
	var names []string
	for _, p := range Params() {
		names = append(names, p.Name)
	}
	if want := []string{"partition", "account", "qos", wes.ParamMemoryMB, wes.ParamTimeLimit}; !slices.Equal(names, want) {
		t.Errorf("Params() = %v, want %v", names, want)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	if got := c.Enabled(); !slices.Equal(got, []string{"local"}) {
		t.Errorf("Enabled() = %v, want [local]", got)
	}
	want := map[string]int{"local": 8, "docker": 8, "slurm": 0, "kubernetes": 0, "tes": 0}
	if got := c.MaxRunning(); !reflect.DeepEqual(got, want) {
		t.Errorf("MaxRunning() = %v, want %v", got, want)
	}
	c.Docker.Enabled, c.TES.Enabled = true, true
	if got := c.Enabled(); !slices.Equal(got, []string{"local", "docker", "tes"}) {
		t.Errorf("Enabled() with docker and tes = %v", got)
	}
}

// Validation names each key under executor.<name>; a disabled executor's keys are not
// checked, but every max_running is.
func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Docker.Image = ""             // required only when enabled
	c.Slurm.MaxRunning = -1         // checked even when disabled
	c.Local.JobUser = "root:root"   // the local executor is always checked
	c.Kubernetes.Enabled = true     // and now its keys are
	c.Kubernetes.Namespace = "Bad!" //
	err := c.Validate()
	for _, want := range []string{"executor.slurm.max_running: must not be negative", "executor.local.job_user: ",
		"executor.kubernetes.namespace: required", "executor.kubernetes.image: required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, missing %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "executor.docker") {
		t.Errorf("Validate() checked the disabled docker executor: %v", err)
	}
	var fe *confkit.FieldError
	if !errors.As(err, &fe) {
		t.Errorf("Validate() = %v, want *confkit.FieldErrors", err)
	}
}

func TestConfigServerPaths(t *testing.T) {
	c := DefaultConfig()
	c.Docker.DatasetRoots = []string{"/data/cohorts"}
	c.Slurm.SSH.KeyFile, c.Slurm.SSH.KnownHostsFile = "/etc/enclave/id", "/etc/enclave/known_hosts"
	c.Kubernetes.Kubeconfig = "/etc/enclave/kubeconfig"
	got := c.ServerPaths()
	for _, want := range []string{"/data/cohorts", "/etc/enclave/id", "/etc/enclave/known_hosts", "/etc/enclave/kubeconfig"} {
		if !slices.Contains(got, want) {
			t.Errorf("ServerPaths() = %v, missing %s", got, want)
		}
	}
}

func testEnv(t *testing.T) confkit.Env {
	return confkit.Env{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// Open builds exactly the registered executors; a factory's error names its section.
func TestConfigOpen(t *testing.T) {
	c := DefaultConfig()
	c.Local.Confinement = local.ConfineOff
	r, err := c.Open(context.Background(), testEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Names(); !slices.Equal(got, []string{"local"}) {
		t.Errorf("Open(default).Names() = %v, want [local]", got)
	}
	c.TES.Enabled = true // without a URL: tes.New refuses
	if _, err := c.Open(context.Background(), testEnv(t)); err == nil || !strings.HasPrefix(err.Error(), "executor.tes: ") {
		t.Errorf("Open(tes without url) = %v, want an error naming executor.tes", err)
	}
}

// Only the slurm executor checks runs at POST /runs, and only when enabled.
func TestConfigSubmitCheckers(t *testing.T) {
	c := DefaultConfig()
	if got, err := c.SubmitCheckers(testEnv(t)); err != nil || len(got) != 0 {
		t.Errorf("SubmitCheckers(default) = %v, %v; want none", got, err)
	}
	c.Slurm.Enabled, c.Slurm.Mode = true, "local"
	c.Slurm.AllowedPartitions = []string{"debug"}
	got, err := c.SubmitCheckers(testEnv(t))
	if err != nil || len(got) != 1 || got["slurm"] == nil {
		t.Fatalf("SubmitCheckers(slurm) = %v, %v", got, err)
	}
	if err := got["slurm"].CheckSubmit("alice", map[string]string{"partition": "gpu"}); !wes.IsCode(err, wes.EINVALID) {
		t.Errorf("CheckSubmit(partition not allowed) = %v, want %s", err, wes.EINVALID)
	}
}
