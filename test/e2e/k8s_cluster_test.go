package e2e

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spe4hd/enclave/executors/kubernetes"
	"github.com/spe4hd/enclave/internal/testsupport/k8sagent"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// k8sCluster is a test's own namespace and node on a test control plane (scripts/k8s.sh).
// The node is run by this test process (internal/testsupport/k8sagent stands in for a kubelet, which
// cannot run in the sandbox): the pods bound to it run as host processes of the test, as
// the test's user, with none of the pod's image, volumes or confinement applied. Jobs
// therefore see the deployment's data dir at its host path, which is why the executor's
// data volume is a hostPath equal to data_dir.
type k8sCluster struct {
	kubeconfig string
	namespace  string
	node       string
	cs         k8s.Interface
	agent      *k8sagent.Agent
}

// k8sVars are what scripts/test-services.sh exports for its control plane.
var k8sVars = []string{"ENCLAVE_TEST_KUBECONFIG"}

// startK8s creates a namespace and starts a node agent on the control plane of
// kubeconfig; both go when the test ends.
func startK8s(t *testing.T, kubeconfig string) *k8sCluster {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	rc.QPS, rc.Burst = 100, 200
	cs, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	c := &k8sCluster{kubeconfig: kubeconfig, cs: cs, namespace: testutil.UniqueName("e2e-"), node: testutil.UniqueName("e2e-node-")}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", c.namespace, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(ctx, c.namespace, metav1.DeleteOptions{}); err != nil {
			t.Logf("delete namespace %s: %v", c.namespace, err)
		}
	})
	// The API server refuses pods until the service account controller made "default".
	eventually(t, time.Minute, "service account default in "+c.namespace, func() (bool, string) {
		_, err := cs.CoreV1().ServiceAccounts(c.namespace).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, errString(err)
	})
	logDir := t.TempDir()
	logPath := filepath.Join(logDir, "agent.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	c.agent, err = k8sagent.Start(ctx, k8sagent.Config{Client: cs, NodeName: c.node, LogDir: logDir,
		Logger: slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		logf.Close()
		t.Fatalf("node agent: %v", err)
	}
	t.Cleanup(func() {
		c.agent.Stop()
		logf.Close()
		if t.Failed() || os.Getenv("E2E_SHOW_LOGS") != "" {
			t.Logf("---- log of the node agent (node %s) ----\n%s", c.node, testutil.TailFile(logPath, 64<<10))
		}
	})
	t.Logf("kubernetes: namespace %s and node %s ready in %s", c.namespace, c.node, time.Since(t0).Round(time.Millisecond))
	return c
}

// settings configure Enclave's kubernetes executor for the cluster: Jobs in the test's
// namespace, pinned to its node; the data volume is added per deployment (k8sDataSettings).
// The image is never pulled nor run: the node agent runs the job's argv on the host
// with the engines installed there, whatever the image says.
func (c *k8sCluster) settings() []string {
	return []string{
		"ENCLAVE_EXECUTOR_DEFAULT=kubernetes",
		"ENCLAVE_EXECUTOR_KUBERNETES_ENABLED=true",
		"ENCLAVE_EXECUTOR_KUBERNETES_KUBECONFIG=" + c.kubeconfig,
		"ENCLAVE_EXECUTOR_KUBERNETES_NAMESPACE=" + c.namespace,
		"ENCLAVE_EXECUTOR_KUBERNETES_IMAGE=enclave.test/ignored-by-the-node-agent:1",
		"ENCLAVE_EXECUTOR_KUBERNETES_IMAGE_PULL_POLICY=Never",
		"ENCLAVE_EXECUTOR_KUBERNETES_NODE_SELECTOR=kubernetes.io/hostname=" + c.node,
		"ENCLAVE_EXECUTOR_KUBERNETES_GRACE=3s",
	}
}

// k8sDataSettings make the deployment's data dir the Jobs' data volume, a host directory.
func k8sDataSettings(d *deployment) []string {
	return []string{"ENCLAVE_EXECUTOR_KUBERNETES_DATA_HOST_PATH=" + d.dataDir}
}

// runJobs lists the Jobs of run id, by the label the executor puts on them.
func (c *k8sCluster) runJobs(t *testing.T, id string) []batchv1.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := c.cs.BatchV1().Jobs(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.LabelRunID + "=" + id})
	if err != nil {
		t.Fatalf("list the Jobs of run %s: %v", id, err)
	}
	return l.Items
}

// deleteRunJob deletes the one Job of run id as an operator's `kubectl delete job`
// would (background propagation: the garbage collector deletes its pod, and the node
// agent stops the pod's process).
func (c *k8sCluster) deleteRunJob(t *testing.T, id string) {
	t.Helper()
	jobs := c.runJobs(t, id)
	if len(jobs) != 1 {
		t.Fatalf("run %s has %d Jobs in %s; want 1", id, len(jobs), c.namespace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.cs.BatchV1().Jobs(c.namespace).Delete(ctx, jobs[0].Name, metav1.DeleteOptions{
		PropagationPolicy: new(metav1.DeletePropagationBackground),
	})
	if err != nil {
		t.Fatalf("delete Job %s: %v", jobs[0].Name, err)
	}
}
