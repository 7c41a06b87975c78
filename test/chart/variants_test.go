package chart

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// minimal is the least a deployment must set, as --set pairs (ci/minimal-values.yaml).
var minimal = []string{
	"redis.addr=redis:6379",
	"config.auth.oidc.issuer=https://login.example.org/",
	"config.auth.oidc.client_id=enclave-wes",
	"config.auth.oidc.all_users_are_researchers=true",
	"catalog.existingConfigMap=enclave-catalog",
}

// withMinimal returns minimal followed by sets, in a new slice.
func withMinimal(sets ...string) []string {
	return append(append([]string{}, minimal...), sets...)
}

// TestRefusals: values that could not work, or would put a secret into the ConfigMap, stop
// the rendering with a message naming the value to change.
func TestRefusals(t *testing.T) {
	const secret = "hunter2-not-for-configmaps"
	tests := []struct {
		name string
		sets []string
		want string
	}{
		{"no redis", []string{"redis.addr="}, "redis.addr is required"},
		{"no issuer", []string{"config.auth.oidc.issuer="}, "config.auth.oidc.issuer is required"},
		{"redis password in config", []string{"config.redis.password=" + secret}, "config.redis.password is a secret"},
		{"client secret in config", []string{"config.auth.oidc.client_secret=" + secret}, "config.auth.oidc.client_secret is a secret"},
		{"two local workers", []string{"workers.replicas=2"}, "workers.replicas must be 1 with the local executor"},
		{"two in-process workers", []string{"workers.enabled=false", "server.replicas=2"}, "server.replicas must be 1"},
		{"no shared volume", []string{"persistence.enabled=false"}, "persistence.enabled=false needs workers.enabled=false"},
		{"server.addr", []string{"config.server.addr=0.0.0.0:9000"}, "config.server.addr is set by the chart"},
		{"worker.in_process", []string{"config.worker.in_process=true"}, "config.worker.in_process is set by the chart"},
		{"data_dir", []string{"config.data_dir=/data"}, "config.data_dir is set by the chart"},
		{"foreign env", []string{"secrets.existingSecret=s", "secrets.env.AWS_SECRET=k"}, `"AWS_SECRET" is not an Enclave variable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := helm(t, templateArgs(nil, withMinimal(tt.sets...))...)
			if err == nil {
				t.Fatalf("rendered; want a refusal containing %q", tt.want)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("error = %s\nwant it to contain %q", stderr, tt.want)
			}
			if strings.Contains(out+stderr, secret) {
				t.Error("the secret value appears in helm's output")
			}
		})
	}
}

// TestVariants covers the switches the example values leave at one setting.
func TestVariants(t *testing.T) {
	t.Run("defaults need redis", func(t *testing.T) {
		_, stderr, err := helm(t, "template", "enclave", chartDir)
		if err == nil || !strings.Contains(stderr, "redis.addr is required") {
			t.Fatalf("default values: err %v, stderr %s; want the redis.addr refusal", err, stderr)
		}
	})

	t.Run("workers in the server", func(t *testing.T) {
		m := render(t, nil, withMinimal("workers.enabled=false", "persistence.enabled=false")...)
		if _, ok := m["Deployment"][workerName]; ok {
			t.Error("worker Deployment rendered with workers.enabled=false")
		}
		if len(m["PersistentVolumeClaim"]) != 0 {
			t.Error("PVC rendered with persistence.enabled=false")
		}
		var server deployment
		m.decode(t, "Deployment", serverName, &server)
		if server.Spec.Strategy.Type != "Recreate" {
			t.Errorf("server strategy = %q, want Recreate (it runs the local jobs)", server.Spec.Strategy.Type)
		}
		p := server.Spec.Template.Spec
		checkPodSecurity(t, p, false)
		if v := p.volume("data"); v == nil || v.EmptyDir == nil {
			t.Errorf("data volume is not an emptyDir: %+v", v)
		}
		eff := checkConfig(t, configYAML(t, m), p.Containers[0].Env)
		if eff["worker.in_process"] != "true" {
			t.Errorf("worker.in_process = %q, want true", eff["worker.in_process"])
		}
	})

	t.Run("existing claim", func(t *testing.T) {
		m := render(t, nil, withMinimal("persistence.existingClaim=enclave-nfs")...)
		if len(m["PersistentVolumeClaim"]) != 0 {
			t.Errorf("PVC rendered with existingClaim: %v", m.names("PersistentVolumeClaim"))
		}
		for _, name := range []string{serverName, workerName} {
			var d deployment
			m.decode(t, "Deployment", name, &d)
			if v := d.Spec.Template.Spec.volume("data"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "enclave-nfs" {
				t.Errorf("%s data volume = %+v, want claim enclave-nfs", name, v)
			}
		}
	})

	t.Run("optional objects", func(t *testing.T) {
		m := render(t, nil, withMinimal()...)
		if len(m["Ingress"]) != 0 {
			t.Errorf("Ingress rendered without being enabled")
		}
		// The NetworkPolicies are on by default (issue 14), and off only when asked.
		if len(render(t, nil, withMinimal("networkPolicy.enabled=false")...)["NetworkPolicy"]) != 0 {
			t.Error("NetworkPolicy rendered with networkPolicy.enabled=false")
		}
		m = render(t, nil, withMinimal("ingress.enabled=true")...)
		if _, ok := m["Ingress"][baseName]; !ok {
			t.Error("no Ingress with ingress.enabled")
		}
		var worker struct {
			Spec struct {
				PolicyTypes []string `yaml:"policyTypes"`
				Ingress     []any    `yaml:"ingress"`
			} `yaml:"spec"`
		}
		m.decode(t, "NetworkPolicy", workerName, &worker)
		if len(worker.Spec.Ingress) != 0 || len(worker.Spec.PolicyTypes) == 0 || worker.Spec.PolicyTypes[0] != "Ingress" {
			t.Errorf("worker NetworkPolicy = %+v, want all ingress denied", worker.Spec)
		}
	})

	t.Run("no secret without existingSecret", func(t *testing.T) {
		m := render(t, nil, withMinimal()...)
		var server deployment
		m.decode(t, "Deployment", serverName, &server)
		for _, e := range server.Spec.Template.Spec.Containers[0].Env {
			if e.ValueFrom != nil {
				t.Errorf("%s comes from a Secret though secrets.existingSecret is empty", e.Name)
			}
		}
	})
}

// TestSecretEnvNames: every variable the chart takes from the Secret names a real
// configuration key, so a secret never silently fails to reach Enclave.
func TestSecretEnvNames(t *testing.T) {
	var v struct {
		Secrets struct {
			Env map[string]string `yaml:"env"`
		} `yaml:"secrets"`
	}
	readYAML(t, chartDir+"/values.yaml", &v)
	out, err := exec.Command(enclaveBin(t), "config", "print-default").Output()
	if err != nil {
		t.Fatalf("enclave config print-default: %v", err)
	}
	if len(v.Secrets.Env) == 0 {
		t.Fatal("values.yaml maps no secrets.env variables")
	}
	for name := range v.Secrets.Env {
		if !strings.Contains(string(out), "# "+name+"\n") {
			t.Errorf("secrets.env names %s, which is no configuration key (see enclave config print-default)", name)
		}
	}
	// And the password really arrives: the server would see it, redacted in `config show`.
	m := render(t, nil, withMinimal()...)
	var server deployment
	m.decode(t, "Deployment", serverName, &server)
	env := append(server.Spec.Template.Spec.Containers[0].Env, envVar{Name: "ENCLAVE_REDIS_PASSWORD", Value: ptr("from-the-secret")})
	if got := checkConfig(t, configYAML(t, m), env)["redis.password"]; got != "REDACTED" {
		t.Errorf("redis.password with ENCLAVE_REDIS_PASSWORD set = %q, want REDACTED", got)
	}
}

func ptr[T any](v T) *T { return &v }

// TestNotes renders NOTES.txt, which `helm template` leaves out, through a copy of the chart
// in which a template feeds the notes to tpl.
func TestNotes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "enclave")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "templates", "NOTES.txt"), filepath.Join(dir, "notes.src")); err != nil {
		t.Fatal(err)
	}
	tmpl := "kind: Notes\nnotes: |\n{{ tpl (.Files.Get \"notes.src\") . | indent 2 }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "notes.yaml"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		sets      []string
		want, not []string
	}{
		{"minimal", withMinimal(), []string{"`enclave worker`", "port-forward service/enclave 8080:80", "secrets.existingSecret is empty",
			"Zone:       sealed; catalogue /etc/enclave/catalog/catalog.yaml from ConfigMap enclave-catalog.", "Results:    /var/lib/enclave/results on the data volume"},
			[]string{"WARNING", "plain WES", "read-only volume"}},
		{"open zone", withMinimal("config.zone.mode=open", "catalog.existingConfigMap="), []string{"Zone:       open (plain WES: clients run their own workflows); no catalogue."}, []string{"rollout restart"}},
		{"zone volume", withMinimal("catalog.volume.source.persistentVolumeClaim.claimName=zone"), []string{"read-only volume at /zone"}, nil},
		{"s3 results", withMinimal("secrets.existingSecret=enclave-secrets", "config.zone.results.store=s3", "config.zone.results.s3.endpoint=minio:9000"),
			[]string{"Results:    S3 bucket enclave-results at minio:9000, keys from Secret enclave-secrets."}, nil},
		{"auth off", withMinimal("config.auth.mode=none"), []string{"WARNING: config.auth.mode is none"}, nil},
		{"ingress", withMinimal("ingress.enabled=true"), []string{"http://wes.example.org/ga4gh/wes/v1/service-info", "Set config.server.public_url"}, []string{"port-forward"}},
		{"kubernetes", withMinimal(append(slices.Clone(k8sOn), "config.executor.default=kubernetes")...),
			[]string{"Jobs:       the kubernetes executor (the default) runs Jobs in namespace default", "as ServiceAccount enclave-jobs (no token)",
				"as enclave-worker (Role enclave-kubernetes-executor).", "NetworkPolicy enclave-jobs denies the job pods every connection."}, []string{"WARNING"}},
		{"kubernetes unconfined", withMinimal(append(slices.Clone(k8sOn), "kubernetesExecutor.networkPolicy.enabled=false", "kubernetesExecutor.rbac.create=false")...),
			[]string{"whose Role you grant yourself", "WARNING: no NetworkPolicy confines the job pods"}, []string{"(the default)"}},
		{"secret", withMinimal("secrets.existingSecret=enclave-secrets"), []string{"from Secret enclave-secrets (ENCLAVE_REDIS_PASSWORD, ENCLAVE_ZONE_RESULTS_S3_ACCESS_KEY, ENCLAVE_ZONE_RESULTS_S3_SECRET_KEY"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"template", "enclave", dir, "--show-only", "templates/notes.yaml"}
			for _, s := range tt.sets {
				args = append(args, "--set", s)
			}
			out, stderr, err := helm(t, args...)
			if err != nil {
				t.Fatalf("rendering NOTES.txt: %v\n%s", err, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("NOTES lack %q:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("NOTES contain %q:\n%s", n, out)
				}
			}
		})
	}
}
