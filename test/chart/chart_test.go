// Package chart tests the Helm chart in charts/enclave: it renders the chart with the real
// helm binary and checks the objects, the security settings and that the rendered
// config.yaml is a configuration the real enclave binary accepts.
package chart

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The objects' names for release "enclave" (the chart name is inside the release name).
const (
	serverName = "enclave-server"
	workerName = "enclave-worker"
	baseName   = "enclave"
)

// valuesFiles are the chart's example values, which the CI lint renders too.
func valuesFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in %s/ci: %v", chartDir, err)
	}
	return files
}

func TestLint(t *testing.T) {
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if out, stderr, err := helm(t, "lint", "--strict", chartDir, "-f", f); err != nil {
				t.Fatalf("helm lint: %v\n%s%s", err, out, stderr)
			}
		})
	}
}

// TestExampleValues checks every rendering the examples give: both Deployments, the
// security settings, secrets only by reference, and a config.yaml enclave accepts.
func TestExampleValues(t *testing.T) {
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m := render(t, []string{f})
			ev := readExecutorValues(t, f)
			var server, worker deployment
			m.decode(t, "Deployment", serverName, &server)
			m.decode(t, "Deployment", workerName, &worker)
			for name, d := range map[string]deployment{"server": server, "worker": worker} {
				t.Run(name, func(t *testing.T) {
					// Only the worker, and only with the kubernetes executor, gets a token.
					checkPodSecurity(t, d.Spec.Template.Spec, name == "worker" && ev.Kubernetes.Enabled)
					checkSecretEnv(t, f, d.Spec.Template.Spec)
					checkMounts(t, m, d.Spec.Template.Spec)
					checkCatalogMounts(t, f, d.Spec.Template.Spec)
				})
			}
			if got := server.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, []string{"server"}) {
				t.Errorf("server args = %v, want [server]", got)
			}
			if got := worker.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, []string{"worker"}) {
				t.Errorf("worker args = %v, want [worker]", got)
			}
			if local := ev.Default == "local"; local != (worker.Spec.Strategy.Type == "Recreate") {
				t.Errorf("worker strategy = %q with executor %s; want Recreate exactly when local jobs live in the pod", worker.Spec.Strategy.Type, ev.Default)
			}
			checkServerProbes(t, server.Spec.Template.Spec.Containers[0])

			var sa struct {
				AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
			}
			m.decode(t, "ServiceAccount", server.Spec.Template.Spec.ServiceAccountName, &sa)
			if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
				t.Error("ServiceAccount automountServiceAccountToken is not false")
			}

			cfg := configYAML(t, m)
			checkNoSecretsIn(t, cfg)
			eff := checkConfig(t, cfg, server.Spec.Template.Spec.Containers[0].Env)
			var want struct {
				Redis struct {
					Addr string `yaml:"addr"`
				} `yaml:"redis"`
				Config struct {
					Zone struct {
						Mode    string `yaml:"mode"`
						Results struct {
							Store string `yaml:"store"`
						} `yaml:"results"`
					} `yaml:"zone"`
				} `yaml:"config"`
			}
			readYAML(t, f, &want)
			for key, w := range map[string]string{
				"redis.addr": want.Redis.Addr, "worker.in_process": "false",
				"data_dir": "/var/lib/enclave", "server.addr": ":8080",
				"zone.mode": cmp.Or(want.Config.Zone.Mode, "sealed"), "zone.catalog": wantCatalog(t, f),
				"zone.results.store": cmp.Or(want.Config.Zone.Results.Store, "local"),
			} {
				if got := eff[key]; got != w {
					t.Errorf("effective %s = %q, want %q", key, got, w)
				}
			}
			if ev.Kubernetes.Enabled {
				checkKubernetesObjects(t, m, "default", "default")
				for key, w := range map[string]string{
					"executor.kubernetes.namespace": "default", "executor.kubernetes.service_account": jobsSA,
					"executor.kubernetes.data_claim": baseName + "-data", "executor.kubernetes.run_as_user": "10001",
				} {
					if got := eff[key]; got != w {
						t.Errorf("effective %s = %q, want %q", key, got, w)
					}
				}
			}
		})
	}
}

// checkPodSecurity asserts the hardening every pod and container must have; token is
// whether the pod mounts its ServiceAccount's token (only the kubernetes executor's workers).
func checkPodSecurity(t *testing.T, p podSpec, token bool) {
	t.Helper()
	if p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken != token {
		t.Errorf("pod automountServiceAccountToken = %v, want %v", p.AutomountServiceAccountToken, token)
	}
	if !isTrue(p.SecurityContext.RunAsNonRoot) {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if p.SecurityContext.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod seccompProfile = %q, want RuntimeDefault", p.SecurityContext.SeccompProfile.Type)
	}
	if len(p.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(p.Containers))
	}
	for _, c := range p.Containers {
		s := c.SecurityContext
		switch {
		case !isTrue(s.RunAsNonRoot):
			t.Errorf("%s: runAsNonRoot is not true", c.Name)
		case !isTrue(s.ReadOnlyRootFilesystem):
			t.Errorf("%s: readOnlyRootFilesystem is not true", c.Name)
		case s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation:
			t.Errorf("%s: allowPrivilegeEscalation is not false", c.Name)
		case !slices.Equal(s.Capabilities.Drop, []string{"ALL"}) || len(s.Capabilities.Add) > 0:
			t.Errorf("%s: capabilities = drop %v add %v, want drop [ALL] only", c.Name, s.Capabilities.Drop, s.Capabilities.Add)
		case s.SeccompProfile.Type != "RuntimeDefault":
			t.Errorf("%s: seccompProfile = %q, want RuntimeDefault", c.Name, s.SeccompProfile.Type)
		case c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "":
			t.Errorf("%s: no memory request and limit: %+v", c.Name, c.Resources)
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// secretName matches the environment variables that carry secrets.
var secretName = regexp.MustCompile(`PASSWORD|SECRET|ACCESS_KEY|TOKEN`)

// checkSecretEnv asserts that secret variables only ever come from the existing Secret the
// values file names, and never carry a literal value.
func checkSecretEnv(t *testing.T, valuesFile string, p podSpec) {
	t.Helper()
	var v struct {
		Secrets struct {
			ExistingSecret string            `yaml:"existingSecret"`
			Env            map[string]string `yaml:"env"`
		} `yaml:"secrets"`
	}
	readYAML(t, valuesFile, &v)
	found := map[string]bool{}
	for _, e := range p.Containers[0].Env {
		if secretName.MatchString(e.Name) && e.Value != nil {
			t.Errorf("%s has a literal value; secrets must come from a Secret", e.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			found[e.Name] = true
			if ref.Name != v.Secrets.ExistingSecret || !ref.Optional {
				t.Errorf("%s from secret %q (optional %v), want %q, optional", e.Name, ref.Name, ref.Optional, v.Secrets.ExistingSecret)
			}
		}
	}
	if v.Secrets.ExistingSecret == "" {
		if len(found) > 0 {
			t.Errorf("secret variables %v without secrets.existingSecret", found)
		}
		return
	}
	for _, name := range []string{"ENCLAVE_REDIS_PASSWORD", "ENCLAVE_ZONE_RESULTS_S3_ACCESS_KEY", "ENCLAVE_ZONE_RESULTS_S3_SECRET_KEY"} {
		if !found[name] {
			t.Errorf("%s is not taken from secret %s", name, v.Secrets.ExistingSecret)
		}
	}
}

// checkMounts asserts the config is mounted read-only where ENCLAVE_CONFIG points, and the
// data volume is the release's claim at data_dir.
func checkMounts(t *testing.T, m manifests, p podSpec) {
	t.Helper()
	mounts := map[string]string{}
	for _, vm := range p.Containers[0].VolumeMounts {
		mounts[vm.Name] = vm.MountPath
		if vm.Name == "config" && !vm.ReadOnly {
			t.Error("config volume is mounted read-write")
		}
	}
	if mounts["config"] != "/etc/enclave" || mounts["data"] != "/var/lib/enclave" || mounts["tmp"] != "/tmp" {
		t.Errorf("mounts = %v, want config at /etc/enclave, data at /var/lib/enclave, tmp at /tmp", mounts)
	}
	if src := configSources(t, p); len(src) == 0 || src[0].Name != baseName ||
		!slices.Equal(src[0].Items, []keyToPath{{"config.yaml", "config.yaml"}}) {
		t.Errorf("config volume does not start with config.yaml from ConfigMap %s: %+v", baseName, src)
	}
	data := p.volume("data")
	if data == nil || data.PersistentVolumeClaim == nil {
		t.Fatalf("data volume is not a PVC: %+v", data)
	}
	if _, ok := m["PersistentVolumeClaim"][data.PersistentVolumeClaim.ClaimName]; !ok {
		t.Errorf("data volume names claim %q, which the chart did not render", data.PersistentVolumeClaim.ClaimName)
	}
	for _, e := range p.Containers[0].Env {
		if e.Name == "ENCLAVE_CONFIG" && (e.Value == nil || *e.Value != "/etc/enclave/config.yaml") {
			t.Errorf("ENCLAVE_CONFIG = %v, want /etc/enclave/config.yaml", e.Value)
		}
	}
}

func checkServerProbes(t *testing.T, c container) {
	t.Helper()
	for name, want := range map[string]struct {
		p    *probe
		path string
	}{"startup": {c.StartupProbe, "/healthz"}, "liveness": {c.LivenessProbe, "/healthz"}, "readiness": {c.ReadinessProbe, "/readyz"}} {
		p := want.p
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want.path || p.HTTPGet.Port != "http" {
			t.Errorf("server %s probe is not GET %s on port http: %+v", name, want.path, p)
		}
	}
}

// configYAML returns config.yaml from the release's ConfigMap.
func configYAML(t *testing.T, m manifests) string {
	t.Helper()
	var cm configMap
	m.decode(t, "ConfigMap", baseName, &cm)
	cfg, ok := cm.Data["config.yaml"]
	if !ok || len(cm.Data) != 1 {
		t.Fatalf("ConfigMap data keys = %v, want only config.yaml", cm.Data)
	}
	return cfg
}

// checkNoSecretsIn fails on any key in config.yaml that names a secret and has a value.
func checkNoSecretsIn(t *testing.T, cfg string) {
	t.Helper()
	var tree map[string]any
	if err := yaml.Unmarshal([]byte(cfg), &tree); err != nil {
		t.Fatalf("config.yaml is not YAML: %v\n%s", err, cfg)
	}
	secretKey := regexp.MustCompile(`(^|_)(password|secret|secret_key|access_key|client_secret|token)$`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, sub := range m {
				walk(strings.TrimPrefix(path+"."+k, "."), sub)
			}
			return
		}
		if k := path[strings.LastIndex(path, ".")+1:]; secretKey.MatchString(k) && v != nil && v != "" {
			t.Errorf("config.yaml carries secret %s", path)
		}
	}
	walk("", tree)
}

// checkConfig runs `enclave config check` and `config show` on cfg with the container's
// environment (as the pod would; a variable from the Secret gets the value
// "from-secret:<its key>"), and returns the effective configuration as dotted key → value.
func checkConfig(t *testing.T, cfg string, env []envVar) map[string]string {
	t.Helper()
	run := func(args ...string) string {
		out, err := enclaveOn(t, cfg, env, true, args...)
		if err != nil {
			t.Fatalf("enclave %s on the rendered config.yaml: %v\n%s\nconfig.yaml:\n%s", strings.Join(args, " "), err, out, cfg)
		}
		return out
	}
	if out := run("config", "check"); !strings.Contains(out, "configuration ok") {
		t.Errorf("enclave config check: %s", out)
	}
	var tree map[string]any
	if err := yaml.Unmarshal([]byte(run("config", "show")), &tree); err != nil {
		t.Fatalf("enclave config show is not YAML: %v", err)
	}
	flat := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, sub := range m {
				walk(strings.TrimPrefix(path+"."+k, "."), sub)
			}
			return
		}
		flat[path] = fmt.Sprint(v)
	}
	walk("", tree)
	return flat
}

// enclaveOn runs enclave with args on config file cfg and the container's environment
// env; withSecrets gives the variables from the Secret a value, as a Secret holding every
// key would.
func enclaveOn(t *testing.T, cfg string, env []envVar, withSecrets bool, args ...string) (string, error) {
	t.Helper()
	bin := enclaveBin(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "ENCLAVE_CONFIG=" + path}
	for _, e := range env {
		switch {
		case e.Name == "ENCLAVE_CONFIG" || e.Name == "HOME":
		case e.Value != nil:
			environ = append(environ, e.Name+"="+*e.Value)
		case withSecrets && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			environ = append(environ, e.Name+"=from-secret:"+e.ValueFrom.SecretKeyRef.Key)
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = environ
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
