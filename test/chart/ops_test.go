package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestSchemaRefuses checks that values.schema.json stops bad values at `helm template`
// (and so at install and upgrade, which apply the same schema) with a message naming them.
func TestSchemaRefuses(t *testing.T) {
	for _, c := range []struct{ name, set, want string }{
		{"string for an integer", "workers.replicas=two", "/workers/replicas"},
		{"misspelt section", "worker.replicas=2", "'worker' not allowed"},
		{"misspelt key", "networkPolicy.enable=false", "'enable' not allowed"},
		{"bad pull policy", "image.pullPolicy=Sometimes", "/image/pullPolicy"},
		{"port out of range", "server.containerPort=70000", "/server/containerPort"},
		{"auth mode", "config.auth.mode=basic", "/config/auth/mode"},
		{"redis without port", "redis.addr=redis", "/redis/addr"},
		{"egress cidr", "networkPolicy.redis.cidrs={10.0.0.1}", "/networkPolicy/redis/cidrs/0"},
		{"scrape interval", "metrics.serviceMonitor.interval=often", "/metrics/serviceMonitor/interval"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := helm(t, templateArgs(nil, withMinimal(c.set))...)
			if err == nil || !strings.Contains(stderr, "schema") || !strings.Contains(stderr, c.want) {
				t.Errorf("helm template --set %s: err %v, stderr %q; want a schema error naming %q", c.set, err, stderr, c.want)
			}
		})
	}
}

type netpol struct {
	Spec struct {
		PolicyTypes []string `yaml:"policyTypes"`
		Ingress     []struct {
			From []map[string]any `yaml:"from"`
		} `yaml:"ingress"`
		Egress []struct {
			To    []map[string]any `yaml:"to"`
			Ports []struct {
				Port     any    `yaml:"port"`
				Protocol string `yaml:"protocol"`
			} `yaml:"ports"`
		} `yaml:"egress"`
	} `yaml:"spec"`
}

// TestNetworkPolicyDefault checks the policies the defaults give: both pods limited in
// and out, out only to DNS, Redis, S3 and the OIDC issuer, narrowed by cidrs when given.
func TestNetworkPolicyDefault(t *testing.T) {
	m := render(t, nil, withMinimal("networkPolicy.redis.cidrs={10.1.2.0/24}", "networkPolicy.oidc.ports={8443}")...)
	for _, name := range []string{serverName, workerName} {
		var np netpol
		m.decode(t, "NetworkPolicy", name, &np)
		if !slices.Equal(np.Spec.PolicyTypes, []string{"Ingress", "Egress"}) {
			t.Errorf("%s policyTypes = %v, want Ingress and Egress", name, np.Spec.PolicyTypes)
		}
		var ports []string
		for _, r := range np.Spec.Egress {
			var ps []string
			for _, p := range r.Ports {
				ps = append(ps, p.Protocol+"/"+strings.TrimSpace(yamlString(p.Port)))
			}
			ports = append(ports, strings.Join(ps, ","))
			if slices.Contains(ps, "TCP/6379") && (len(r.To) != 1 || yamlString(r.To[0]) != "ipBlock:\n    cidr: 10.1.2.0/24") {
				t.Errorf("%s Redis rule to = %v, want only the ipBlock 10.1.2.0/24", name, r.To)
			}
		}
		want := []string{"UDP/53,TCP/53", "TCP/6379,TCP/26379", "TCP/9000,TCP/443", "TCP/8443"}
		if !slices.Equal(ports, want) {
			t.Errorf("%s egress ports = %q, want %q (DNS, Redis, S3, OIDC and nothing else)", name, ports, want)
		}
	}
	var server netpol
	m.decode(t, "NetworkPolicy", serverName, &server)
	if len(server.Spec.Ingress) != 1 || len(server.Spec.Ingress[0].From) != 1 || !strings.Contains(yamlString(server.Spec.Ingress[0].From[0]), "ingress-nginx") {
		t.Errorf("server ingress = %+v, want only from the ingress-nginx namespace", server.Spec.Ingress)
	}
}

func yamlString(v any) string {
	b, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(b))
}

// TestOpsObjects checks the PodDisruptionBudgets, the workers' HPA and probes, and the
// monitoring objects: each where asked for and nowhere else.
func TestOpsObjects(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		m := render(t, nil, withMinimal()...)
		if names := slices.Sorted(slices.Values(m.names("PodDisruptionBudget"))); !slices.Equal(names, []string{serverName, workerName}) {
			t.Errorf("PodDisruptionBudgets = %v, want %s and %s", names, serverName, workerName)
		}
		for _, kind := range []string{"HorizontalPodAutoscaler", "ServiceMonitor", "PrometheusRule"} {
			if len(m[kind]) != 0 {
				t.Errorf("%s rendered by default", kind)
			}
		}
		var w deployment
		m.decode(t, "Deployment", workerName, &w)
		if c := w.Spec.Template.Spec.Containers[0]; c.LivenessProbe != nil || c.ReadinessProbe != nil {
			t.Errorf("worker probes %+v %+v: the worker serves no HTTP, so none by default", c.LivenessProbe, c.ReadinessProbe)
		}
	})
	t.Run("hpa", func(t *testing.T) {
		m := render(t, nil, withMinimal("config.executor.default=slurm", "workers.autoscaling.enabled=true", "workers.autoscaling.maxReplicas=7")...)
		var hpa struct {
			Spec struct {
				ScaleTargetRef struct{ Name string } `yaml:"scaleTargetRef"`
				MaxReplicas    int                   `yaml:"maxReplicas"`
			} `yaml:"spec"`
		}
		m.decode(t, "HorizontalPodAutoscaler", workerName, &hpa)
		if hpa.Spec.ScaleTargetRef.Name != workerName || hpa.Spec.MaxReplicas != 7 {
			t.Errorf("HPA = %+v, want %s up to 7", hpa.Spec, workerName)
		}
		var w struct {
			Spec map[string]any `yaml:"spec"`
		}
		m.decode(t, "Deployment", workerName, &w)
		if _, ok := w.Spec["replicas"]; ok {
			t.Error("worker Deployment sets replicas under an HPA; each upgrade would reset the HPA's choice")
		}
		_, stderr, err := helm(t, templateArgs(nil, withMinimal("workers.autoscaling.enabled=true"))...)
		if err == nil || !strings.Contains(stderr, "workers.autoscaling needs an executor") {
			t.Errorf("HPA with the local executor: err %v, stderr %q; want a refusal", err, stderr)
		}
	})
	t.Run("monitoring", func(t *testing.T) {
		m := render(t, nil, withMinimal("metrics.serviceMonitor.enabled=true", "metrics.prometheusRule.enabled=true",
			"metrics.grafanaDashboard.enabled=true", "metrics.serviceMonitor.labels.release=prom")...)
		var sm struct {
			Metadata struct{ Labels map[string]string } `yaml:"metadata"`
			Spec     struct {
				Endpoints []struct{ Port, Path string } `yaml:"endpoints"`
			} `yaml:"spec"`
		}
		m.decode(t, "ServiceMonitor", baseName, &sm)
		if sm.Metadata.Labels["release"] != "prom" || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor = %+v, want the http port's /metrics, labelled release=prom", sm)
		}
		var rule struct {
			Spec struct {
				Groups []struct {
					Rules []struct{ Alert, Expr string } `yaml:"rules"`
				} `yaml:"groups"`
			} `yaml:"spec"`
		}
		m.decode(t, "PrometheusRule", baseName, &rule)
		if len(rule.Spec.Groups) != 1 || len(rule.Spec.Groups[0].Rules) < 4 {
			t.Fatalf("PrometheusRule = %+v, want the rules of monitoring/alerts.yaml", rule)
		}
		if _, ok := m["ConfigMap"][baseName+"-dashboard"]; !ok {
			t.Error("no dashboard ConfigMap with metrics.grafanaDashboard.enabled")
		}
	})
}

// metricFamilies are the metric names Enclave serves (issue 14), which the dashboard and
// the alerts are written against.
var metricFamilies = []string{
	"enclave_http_requests_total", "enclave_http_request_duration_seconds", "enclave_runs",
	"enclave_queue_depth", "enclave_step_duration_seconds", "enclave_executor_call_duration_seconds",
	"enclave_executor_errors_total", "enclave_reconcile_duration_seconds", "enclave_live_runs",
	"enclave_egress_files_total", "enclave_egress_bytes_total", "enclave_egress_checks_failed_total",
	"enclave_auth_failures_total", "enclave_audit_append_duration_seconds",
	"enclave_audit_append_errors_total", "enclave_ready",
}

// TestMonitoringFiles checks the dashboard shows every metric family and the alert rules
// cover the four conditions of issue 14, each on the metric that shows it.
func TestMonitoringFiles(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, m := range metricFamilies {
		if !strings.Contains(all, m) {
			t.Errorf("no dashboard panel queries %s", m)
		}
	}
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string } `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, filepath.Join(chartDir, "monitoring", "alerts.yaml"), &rules)
	got := map[string]string{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			got[r.Alert] = r.Expr
		}
	}
	for alert, metric := range map[string]string{
		"EnclaveRunsStuck": "enclave_runs", "EnclaveQueueGrowing": "enclave_queue_depth",
		"EnclaveNotReady": "enclave_ready", "EnclaveAuditAppendFailing": "enclave_audit_append_errors_total",
	} {
		if !strings.Contains(got[alert], metric) {
			t.Errorf("alert %s = %q, want a rule on %s", alert, got[alert], metric)
		}
	}
}

// TestSentinelValues checks that redis.sentinel reaches config.yaml under the keys the
// server reads (redis.sentinel.master_name, redis.sentinel.addrs) and the sentinels'
// password the environment, from the Secret, never the ConfigMap.
func TestSentinelValues(t *testing.T) {
	m := render(t, nil, withMinimal("redis.addr=", "redis.sentinel.masterName=enclave-primary",
		"redis.sentinel.addrs={s0.redis:26379,s1.redis:26379,s2.redis:26379}", "secrets.existingSecret=enclave-secrets")...)
	var cfg struct {
		Redis struct {
			Addr     *string `yaml:"addr"`
			Sentinel struct {
				MasterName string   `yaml:"master_name"`
				Addrs      []string `yaml:"addrs"`
			} `yaml:"sentinel"`
		} `yaml:"redis"`
	}
	if err := yaml.Unmarshal([]byte(configYAML(t, m)), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Redis.Addr != nil || cfg.Redis.Sentinel.MasterName != "enclave-primary" || len(cfg.Redis.Sentinel.Addrs) != 3 {
		t.Errorf("config redis = %+v, want master_name enclave-primary, three sentinels and no addr", cfg.Redis)
	}
	var d deployment
	m.decode(t, "Deployment", workerName, &d)
	found := false
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "ENCLAVE_REDIS_SENTINEL_PASSWORD" {
			found = e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Key == "redis-sentinel-password"
		}
	}
	if !found {
		t.Error("ENCLAVE_REDIS_SENTINEL_PASSWORD not taken from the Secret's key redis-sentinel-password")
	}
	for _, c := range []struct{ sets []string }{
		{[]string{"redis.addr=", "redis.sentinel.masterName=x"}},
		{[]string{"config.redis.sentinel.master_name=x"}},
	} {
		if _, _, err := helm(t, templateArgs(nil, withMinimal(c.sets...))...); err == nil {
			t.Errorf("--set %v rendered; want a refusal", c.sets)
		}
	}
}
