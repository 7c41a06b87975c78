package e2e

import (
	"path/filepath"
	"testing"
)

// The kubernetes row of TestBackendCrashSafety: Enclave's kubernetes executor on a real
// control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok),
// its Jobs' pods run by this test process's node agent (see k8sCluster).

func k8sTarget(c *k8sCluster, env map[string]string) *crashTarget {
	return &crashTarget{name: "kubernetes", env: env, settings: c.settings(), dataSettings: k8sDataSettings, k8s: c}
}

// sharedK8sTarget: a namespace and node of the test's own on the test services' control
// plane.
func sharedK8sTarget(t *testing.T) *crashTarget {
	env := crashEnv(t, "the kubernetes backend needs the test control plane", k8sVars...)
	return k8sTarget(startK8s(t, env["ENCLAVE_TEST_KUBECONFIG"]), env)
}

// privateK8sTarget starts a control plane of the test's own (scripts/k8s.sh start), whose
// kube-apiserver the test may kill and start again (pause-apiserver, resume-apiserver)
// without disturbing the other suites: etcd, the controllers, kwok and the node agent
// stay up through the outage, as they would when a cluster's API server goes away.
func privateK8sTarget(t *testing.T) *crashTarget {
	crashEnv(t, "the kubernetes backend needs the Kubernetes binaries and etcd", k8sVars...)
	dir := crashScript(t, "k8s.sh", "eck")
	env := readEnvFile(t, filepath.Join(dir, "env"), k8sVars...)
	tg := k8sTarget(startK8s(t, env["ENCLAVE_TEST_KUBECONFIG"]), env)
	script := filepath.Join(repoRoot, "scripts", "k8s.sh")
	tg.down = func(t *testing.T) { crashRun(t, script, "pause-apiserver", dir) }
	tg.up = func(t *testing.T) { crashRun(t, script, "resume-apiserver", dir) }
	return tg
}

// vanishK8s deletes the run's Job, as an operator's `kubectl delete job` would.
func vanishK8s(t *testing.T, tg *crashTarget, _ *deployment, id string) string {
	tg.k8s.deleteRunJob(t, id)
	return "the Kubernetes Job of this run no longer exists"
}
