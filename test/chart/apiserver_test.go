package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// kubeConfig returns the test control plane's kubeconfig (scripts/k8s.sh start writes it).
// Without one the test skips, except under CI, where it fails.
func kubeConfig(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ENCLAVE_TEST_KUBECONFIG")
	if p == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ENCLAVE_TEST_KUBECONFIG is required under CI (scripts/test-services.sh starts the control plane)")
		}
		t.Skip("SKIP: no ENCLAVE_TEST_KUBECONFIG (run under scripts/test-services.sh, or scripts/k8s.sh start DIR)")
	}
	return p
}

// monitoringCRDs are the Prometheus Operator's two kinds the chart renders, reduced to
// what the API server needs to accept them (their names, versions and scope): the test
// cluster has no operator. Their schemas preserve unknown fields, so these objects are
// checked for their metadata and kind only; the other kinds are checked field by field.
const monitoringCRDs = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: prometheusrules.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: PrometheusRule, listKind: PrometheusRuleList, plural: prometheusrules, singular: prometheusrule}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// TestServerSideDryRun sends every object the chart renders, for each values file of ci/
// and for the minimal values with every optional object switched on, to the real test
// kube-apiserver as a server-side dry-run create with strict field validation: the API
// server's own schemas, defaulting and admission decide, as `kubectl apply
// --dry-run=server` would, and an unknown or misplaced field fails. (The chart's default
// values alone do not render: redis.addr is required, which TestRefusals checks;
// ci/minimal-values.yaml is the defaults plus exactly the required values.)
func TestServerSideDryRun(t *testing.T) {
	kc := kubeConfig(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	installCRDs(ctx, t, dyn)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))

	// A namespace of its own: the objects are only dry-run, but namespaced dry-run creates
	// still need their namespace to exist.
	ns := fmt.Sprintf("enclave-chart-%d", time.Now().UnixNano())
	nsRes := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
	if _, err := dyn.Resource(nsRes).Create(ctx, nsObj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dyn.Resource(nsRes).Delete(context.Background(), ns, metav1.DeleteOptions{}) })

	sets := map[string][]string{}
	for _, f := range valuesFiles(t) {
		sets[filepath.Base(f)] = []string{"-f", f}
	}
	sets["everything-on"] = []string{"-f", filepath.Join(chartDir, "ci", "minimal-values.yaml"),
		"--set", "metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,metrics.grafanaDashboard.enabled=true",
		"--set", "redis.addr=,redis.sentinel.masterName=enclave,redis.sentinel.addrs={s0:26379,s1:26379}",
		"--set", "secrets.existingSecret=enclave-secrets,networkPolicy.oidc.cidrs={192.0.2.0/24}",
		"--set", "config.executor.default=slurm,workers.autoscaling.enabled=true"}
	for name, args := range sets {
		t.Run(name, func(t *testing.T) {
			out, stderr, err := helm(t, append([]string{"template", "enclave", chartDir, "--namespace", ns}, args...)...)
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, stderr)
			}
			kinds := map[string]int{}
			for _, obj := range decodeAll(t, out) {
				kinds[obj.GetKind()]++
				if err := dryRun(ctx, dyn, mapper, ns, obj); err != nil {
					t.Errorf("%s %s: the API server refuses it: %v", obj.GetKind(), obj.GetName(), err)
				}
			}
			t.Logf("validated %v", kinds)
			if name == "everything-on" {
				for _, k := range []string{"ServiceMonitor", "PrometheusRule", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"} {
					if kinds[k] == 0 {
						t.Errorf("no %s rendered with every option on", k)
					}
				}
			}
		})
	}
}

// dryRun creates obj with dryRun=All and strict field validation. Objects the chart puts in
// another namespace (the kubernetes executor's jobs namespace) keep it; their namespace
// must exist.
func dryRun(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, ns string, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("the API server does not serve %s: %w", gvk, err)
	}
	opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		_, err = dyn.Resource(m.Resource).Create(ctx, obj, opts)
		return err
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(ns)
	}
	_, err = dyn.Resource(m.Resource).Namespace(obj.GetNamespace()).Create(ctx, obj, opts)
	return err
}

// decodeAll splits helm's output into objects; NOTES and empty documents are skipped.
func decodeAll(t *testing.T, out string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(out)), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decoding helm's output: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	if len(objs) == 0 {
		t.Fatal("helm rendered no objects")
	}
	return objs
}

// installCRDs creates the monitoring CRDs (for real: a dry-run CRD serves nothing) unless
// they exist, and waits until the API server serves them.
func installCRDs(ctx context.Context, t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	crdRes := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, obj := range decodeAll(t, monitoringCRDs) {
		_, err := dyn.Resource(crdRes).Create(ctx, obj, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating CRD %s: %v", obj.GetName(), err)
		}
		if err := waitEstablished(ctx, dyn.Resource(crdRes), obj.GetName()); err != nil {
			t.Fatal(err)
		}
	}
}

// waitEstablished watches the CRD until its Established condition is True.
func waitEstablished(ctx context.Context, crds dynamic.NamespaceableResourceInterface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	w, err := crds.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return err
	}
	defer w.Stop()
	// The watch starts with the object's current state, so an already established CRD
	// returns at once.
	for ev := range w.ResultChan() {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		if slices.ContainsFunc(conds, func(c any) bool {
			m, _ := c.(map[string]any)
			return m["type"] == "Established" && strings.EqualFold(fmt.Sprint(m["status"]), "true")
		}) {
			return nil
		}
	}
	return fmt.Errorf("CRD %s not established within a minute: %w", name, ctx.Err())
}
