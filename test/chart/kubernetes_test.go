package chart

import (
	"maps"
	"slices"
	"strings"
	"testing"

	k8sexec "github.com/spe4hd/enclave/executors/kubernetes"
)

// The kubernetes executor's objects for release "enclave".
const (
	workerSA     = "enclave-worker"
	jobsSA       = "enclave-jobs"
	executorRole = "enclave-kubernetes-executor"
	jobsPolicy   = "enclave-jobs"
)

// k8sOn enables the kubernetes executor with the least it needs.
var k8sOn = []string{"config.executor.kubernetes.enabled=true", "config.executor.kubernetes.image=registry.example.org/enclave:1"}

type (
	objectMeta struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	}
	policyRule struct {
		APIGroups       []string `yaml:"apiGroups"`
		Resources       []string `yaml:"resources"`
		Verbs           []string `yaml:"verbs"`
		ResourceNames   []string `yaml:"resourceNames"`
		NonResourceURLs []string `yaml:"nonResourceURLs"`
	}
	role struct {
		Metadata objectMeta   `yaml:"metadata"`
		Rules    []policyRule `yaml:"rules"`
	}
	subject struct {
		Kind      string `yaml:"kind"`
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	}
	roleBinding struct {
		Metadata objectMeta `yaml:"metadata"`
		RoleRef  struct {
			APIGroup string `yaml:"apiGroup"`
			Kind     string `yaml:"kind"`
			Name     string `yaml:"name"`
		} `yaml:"roleRef"`
		Subjects []subject `yaml:"subjects"`
	}
	serviceAccount struct {
		Metadata                     objectMeta `yaml:"metadata"`
		AutomountServiceAccountToken *bool      `yaml:"automountServiceAccountToken"`
	}
	networkPolicy struct {
		Metadata objectMeta `yaml:"metadata"`
		Spec     struct {
			PodSelector struct {
				MatchLabels      map[string]string `yaml:"matchLabels"`
				MatchExpressions []struct {
					Key      string   `yaml:"key"`
					Operator string   `yaml:"operator"`
					Values   []string `yaml:"values"`
				} `yaml:"matchExpressions"`
			} `yaml:"podSelector"`
			PolicyTypes []string `yaml:"policyTypes"`
			Ingress     []any    `yaml:"ingress"`
			Egress      []any    `yaml:"egress"`
		} `yaml:"spec"`
	}
	// executorValues is config.executor of values.yaml overlaid with a values file.
	executorValues struct {
		Default    string `yaml:"default"`
		Kubernetes struct {
			Enabled bool `yaml:"enabled"`
		} `yaml:"kubernetes"`
	}
)

func readExecutorValues(t *testing.T, valuesFile string) executorValues {
	t.Helper()
	var v struct {
		Config struct {
			Executor executorValues `yaml:"executor"`
		} `yaml:"config"`
	}
	readYAML(t, chartDir+"/values.yaml", &v)
	readYAML(t, valuesFile, &v)
	return v.Config.Executor
}

// renderIn is render with --namespace ns and the minimal values plus sets.
func renderIn(t *testing.T, ns string, sets ...string) manifests {
	t.Helper()
	out, stderr, err := helm(t, append(templateArgs(nil, withMinimal(sets...)), "--namespace", ns)...)
	if err != nil {
		t.Fatalf("helm template --namespace %s %v: %v\n%s", ns, sets, err, stderr)
	}
	return parse(t, out)
}

// checkKubernetesObjects asserts the kubernetes executor's objects for a release in
// namespace release whose jobs run in namespace jobs: the Role grants exactly wantRules
// there, bound to the worker's account alone; only the worker pod mounts a token; the
// job pods' account has none (when the chart created it) and no binding; the job pods
// are behind a default-deny NetworkPolicy selected by the executor's own labels.
func checkKubernetesObjects(t *testing.T, m manifests, release, jobs string) {
	t.Helper()
	var r role
	m.decode(t, "Role", executorRole, &r)
	if r.Metadata.Namespace != jobs {
		t.Errorf("Role in namespace %q, want %q", r.Metadata.Namespace, jobs)
	}
	if got := rulesOf(t, r.Rules); !maps.EqualFunc(got, wantRules, slices.Equal) {
		t.Errorf("Role rules = %v, want exactly %v", got, wantRules)
	}
	var b roleBinding
	m.decode(t, "RoleBinding", executorRole, &b)
	if b.Metadata.Namespace != jobs || b.RoleRef.APIGroup != "rbac.authorization.k8s.io" || b.RoleRef.Kind != "Role" || b.RoleRef.Name != executorRole {
		t.Errorf("RoleBinding = %+v, want Role %s in namespace %s", b, executorRole, jobs)
	}
	if want := []subject{{"ServiceAccount", workerSA, release}}; !slices.Equal(b.Subjects, want) {
		t.Errorf("RoleBinding subjects = %+v, want %+v", b.Subjects, want)
	}
	for _, kind := range []string{"Role", "RoleBinding"} {
		if len(m[kind]) != 1 {
			t.Errorf("%d %ss rendered, want 1: %v", len(m[kind]), kind, m.names(kind))
		}
	}
	for _, kind := range []string{"ClusterRole", "ClusterRoleBinding"} {
		if len(m[kind]) != 0 {
			t.Errorf("%s rendered: %v", kind, m.names(kind))
		}
	}

	var server, worker deployment
	m.decode(t, "Deployment", serverName, &server)
	m.decode(t, "Deployment", workerName, &worker)
	if p := worker.Spec.Template.Spec; p.ServiceAccountName != workerSA || !isTrue(p.AutomountServiceAccountToken) {
		t.Errorf("worker pod: account %q, token %v; want %s with its token", p.ServiceAccountName, p.AutomountServiceAccountToken, workerSA)
	}
	if p := server.Spec.Template.Spec; p.ServiceAccountName == workerSA || p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken {
		t.Errorf("server pod: account %q, token %v; want another account and no token", p.ServiceAccountName, p.AutomountServiceAccountToken)
	}
	for name, sa := range m["ServiceAccount"] {
		var s serviceAccount
		m.decode(t, "ServiceAccount", name, &s)
		if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
			t.Errorf("ServiceAccount %s mounts its token by default:\n%s", name, sa)
		}
	}
	if _, ok := m["ServiceAccount"][jobsSA]; ok {
		var s serviceAccount
		m.decode(t, "ServiceAccount", jobsSA, &s)
		if s.Metadata.Namespace != jobs {
			t.Errorf("ServiceAccount %s in namespace %q, want %q", jobsSA, s.Metadata.Namespace, jobs)
		}
	}

	var np networkPolicy
	m.decode(t, "NetworkPolicy", jobsPolicy, &np)
	sel := np.Spec.PodSelector
	if np.Metadata.Namespace != jobs {
		t.Errorf("NetworkPolicy %s in namespace %q, want %q", jobsPolicy, np.Metadata.Namespace, jobs)
	}
	if want := map[string]string{k8sexec.LabelManagedBy: k8sexec.ManagedByEnclave}; !maps.Equal(sel.MatchLabels, want) {
		t.Errorf("NetworkPolicy matchLabels = %v, want the executor's %v", sel.MatchLabels, want)
	}
	if len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].Key != k8sexec.LabelRunID || sel.MatchExpressions[0].Operator != "Exists" {
		t.Errorf("NetworkPolicy matchExpressions = %+v, want %s Exists", sel.MatchExpressions, k8sexec.LabelRunID)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []string{"Ingress", "Egress"}) || len(np.Spec.Ingress) != 0 || len(np.Spec.Egress) != 0 {
		t.Errorf("NetworkPolicy spec = %+v, want Ingress and Egress with no rule (deny all)", np.Spec)
	}
}

// TestKubernetesRefusals: combinations the executor could not run with stop the rendering
// with a message naming the value to change.
func TestKubernetesRefusals(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want string
	}{
		{"no image", []string{"config.executor.kubernetes.enabled=true"}, "config.executor.kubernetes.image is required"},
		{"default without the executor", []string{"config.executor.default=kubernetes"}, "config.executor.default is kubernetes but config.executor.kubernetes.enabled is not true"},
		{"worker in the server", append(slices.Clone(k8sOn), "workers.enabled=false", "persistence.enabled=false"), "config.executor.kubernetes.enabled needs workers.enabled=true"},
		{"kubeconfig", append(slices.Clone(k8sOn), "config.executor.kubernetes.kubeconfig=/etc/kube/config"), "config.executor.kubernetes.kubeconfig must be empty"},
		{"other namespace without claim", append(slices.Clone(k8sOn), "config.executor.kubernetes.namespace=enclave-jobs"), "config.executor.kubernetes.data_claim is required when the jobs run in namespace enclave-jobs"},
		{"pulling", append(slices.Clone(k8sOn), "config.executor.kubernetes.image_pull_policy=Always"), "image_pull_policy must be IfNotPresent or Never"},
		{"two data volumes", append(slices.Clone(k8sOn), "config.executor.kubernetes.data_claim=d", "config.executor.kubernetes.data_host_path=/srv/d"), "data_claim and data_host_path are both set"},
		{"single-pod volume", append(slices.Clone(k8sOn), "persistence.accessModes={ReadWriteOncePod}"), "persistence.accessModes has ReadWriteOncePod"},
		{"local workers still single", append(slices.Clone(k8sOn), "workers.replicas=2"), "workers.replicas must be 1 with the local executor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := helm(t, templateArgs(nil, withMinimal(tt.sets...))...)
			if err == nil {
				t.Fatalf("rendered; want a refusal containing %q", tt.want)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("error = %s\nwant it to contain %q", stderr, tt.want)
			}
		})
	}
}

// TestKubernetesVariants renders the executor's settings and runs enclave on each config.
func TestKubernetesVariants(t *testing.T) {
	effective := func(t *testing.T, m manifests) map[string]string {
		t.Helper()
		var w deployment
		m.decode(t, "Deployment", workerName, &w)
		return checkConfig(t, configYAML(t, m), w.Spec.Template.Spec.Containers[0].Env)
	}
	expect := func(t *testing.T, eff map[string]string, want map[string]string) {
		t.Helper()
		for k, w := range want {
			if eff[k] != w {
				t.Errorf("effective %s = %q, want %q", k, eff[k], w)
			}
		}
	}

	t.Run("default executor scales out", func(t *testing.T) {
		m := renderIn(t, "wes", append(slices.Clone(k8sOn), "config.executor.default=kubernetes", "workers.replicas=3")...)
		checkKubernetesObjects(t, m, "wes", "wes")
		var w deployment
		m.decode(t, "Deployment", workerName, &w)
		if w.Spec.Replicas != 3 || w.Spec.Strategy.Type == "Recreate" {
			t.Errorf("worker replicas %d, strategy %q; want 3, rolling", w.Spec.Replicas, w.Spec.Strategy.Type)
		}
		checkPodSecurity(t, w.Spec.Template.Spec, true)
		expect(t, effective(t, m), map[string]string{
			"executor.default": "kubernetes", "executor.kubernetes.enabled": "true",
			"executor.kubernetes.namespace": "wes", "executor.kubernetes.service_account": jobsSA,
			"executor.kubernetes.data_claim": baseName + "-data", "executor.kubernetes.data_host_path": "",
			"executor.kubernetes.run_as_user": "10001", "executor.kubernetes.run_as_group": "10001",
			"executor.kubernetes.datasets": "[]", "data_dir": "/var/lib/enclave",
		})
	})

	t.Run("jobs in their own namespace", func(t *testing.T) {
		m := renderIn(t, "wes", append(slices.Clone(k8sOn), "config.executor.kubernetes.namespace=enclave-jobs",
			"config.executor.kubernetes.data_claim=jobs-data", "catalog.volume.source.persistentVolumeClaim.claimName=zone")...)
		checkKubernetesObjects(t, m, "wes", "enclave-jobs")
		expect(t, effective(t, m), map[string]string{
			"executor.kubernetes.namespace": "enclave-jobs", "executor.kubernetes.data_claim": "jobs-data",
			// The catalogue's claim lives in the release's namespace: no dataset default.
			"executor.kubernetes.datasets": "[]",
		})
	})

	t.Run("catalogue claim gives the datasets", func(t *testing.T) {
		m := renderIn(t, "wes", append(slices.Clone(k8sOn), "catalog.volume.source.persistentVolumeClaim.claimName=zone", "catalog.volume.mountPath=/srv/zone/")...)
		expect(t, effective(t, m), map[string]string{"executor.kubernetes.datasets": "[/srv/zone=pvc:zone]"})
	})

	t.Run("the user's keys are kept", func(t *testing.T) {
		m := renderIn(t, "wes", append(slices.Clone(k8sOn), "config.executor.kubernetes.service_account=wes-jobs",
			"config.executor.kubernetes.data_host_path=/srv/enclave", "config.executor.kubernetes.run_as_user=20000",
			"config.executor.kubernetes.run_as_group=20001", "config.executor.kubernetes.datasets={/zone/data=pvc:zd:data}",
			"catalog.volume.source.persistentVolumeClaim.claimName=zone")...)
		if _, ok := m["ServiceAccount"][jobsSA]; ok {
			t.Errorf("ServiceAccount %s rendered though service_account names the user's", jobsSA)
		}
		checkKubernetesObjects(t, m, "wes", "wes")
		expect(t, effective(t, m), map[string]string{
			"executor.kubernetes.service_account": "wes-jobs", "executor.kubernetes.data_claim": "",
			"executor.kubernetes.data_host_path": "/srv/enclave", "executor.kubernetes.run_as_user": "20000",
			"executor.kubernetes.run_as_group": "20001", "executor.kubernetes.datasets": "[/zone/data=pvc:zd:data]",
		})
	})

	t.Run("rbac and policy switched", func(t *testing.T) {
		m := renderIn(t, "wes", append(slices.Clone(k8sOn), "kubernetesExecutor.rbac.create=false",
			"kubernetesExecutor.networkPolicy.egress[0].ports[0].port=3128")...)
		if len(m["Role"])+len(m["RoleBinding"]) != 0 {
			t.Errorf("RBAC rendered with rbac.create=false: %v %v", m.names("Role"), m.names("RoleBinding"))
		}
		if _, ok := m["ServiceAccount"][workerSA]; !ok {
			t.Errorf("no worker ServiceAccount without rbac.create; have %v", m.names("ServiceAccount"))
		}
		var np networkPolicy
		m.decode(t, "NetworkPolicy", jobsPolicy, &np)
		if len(np.Spec.Egress) != 1 || len(np.Spec.Ingress) != 0 {
			t.Errorf("jobs NetworkPolicy = %+v, want the one egress rule and no ingress", np.Spec)
		}
		m = renderIn(t, "wes", append(slices.Clone(k8sOn), "kubernetesExecutor.networkPolicy.enabled=false")...)
		if _, ok := m["NetworkPolicy"][jobsPolicy]; ok {
			t.Error("jobs NetworkPolicy rendered with networkPolicy.enabled=false")
		}
	})

	t.Run("off adds nothing", func(t *testing.T) {
		m := renderIn(t, "wes")
		for _, kind := range []string{"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"} {
			if len(m[kind]) != 0 {
				t.Errorf("%s rendered without the kubernetes executor: %v", kind, m.names(kind))
			}
		}
		// The server's and the workers' NetworkPolicies are on by default; the jobs' is not.
		if names := m.names("NetworkPolicy"); !slices.Equal(slices.Sorted(slices.Values(names)), []string{serverName, workerName}) {
			t.Errorf("NetworkPolicies without the kubernetes executor = %v, want only %s and %s", names, serverName, workerName)
		}
		if names := m.names("ServiceAccount"); !slices.Equal(names, []string{baseName}) {
			t.Errorf("ServiceAccounts = %v, want only %s", names, baseName)
		}
		var w deployment
		m.decode(t, "Deployment", workerName, &w)
		checkPodSecurity(t, w.Spec.Template.Spec, false)
	})
}
