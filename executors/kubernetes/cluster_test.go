package kubernetes_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spe4hd/enclave/executors/kubernetes"
	"github.com/spe4hd/enclave/internal/testsupport/k8sagent"
	"github.com/spe4hd/enclave/pkg/wes"
)

// The test cluster: scripts/test-services.sh starts a real control plane (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kwok for node heartbeats) and
// exports ENCLAVE_TEST_KUBECONFIG. This test binary adds a namespace of its own and a
// node run by k8sagent, which executes the pods' commands as host processes.
type testCluster struct {
	kubeconfig string
	cs         k8s.Interface
	namespace  string
	node       string
	data       string // the data volume: a host directory
	agent      *k8sagent.Agent
	saReady    time.Time
}

var (
	clusterOnce sync.Once
	cluster     *testCluster
	clusterErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		cluster.teardown()
	}
	os.Exit(code)
}

// needCluster returns the shared test cluster; without one the test skips, and fails
// under CI=true.
func needCluster(t *testing.T) *testCluster {
	t.Helper()
	kc := os.Getenv("ENCLAVE_TEST_KUBECONFIG")
	if kc == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ENCLAVE_TEST_KUBECONFIG unset: CI needs the test control plane (scripts/test-services.sh with scripts/k8s.sh built)")
		}
		t.Skip("SKIP: no test Kubernetes control plane (run under scripts/test-services.sh after scripts/k8s.sh build)")
	}
	clusterOnce.Do(func() {
		t0 := time.Now()
		cluster, clusterErr = setUp(kc)
		if cluster != nil {
			t.Logf("test cluster set up in %s (namespace and its service account: %s; node agent: %s)", time.Since(t0).Round(time.Millisecond),
				cluster.saReady.Sub(t0).Round(time.Millisecond), time.Since(cluster.saReady).Round(time.Millisecond))
		}
	})
	if clusterErr != nil {
		t.Fatalf("test cluster: %v", clusterErr)
	}
	return cluster
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func setUp(kubeconfig string) (*testCluster, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = 100, 200
	cs, err := k8s.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	c := &testCluster{kubeconfig: kubeconfig, cs: cs, namespace: "enclave-test-" + randomSuffix(), node: "enclave-test-node-" + randomSuffix()}
	if c.data, err = os.MkdirTemp("", "enclave-k8s-data-"); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.namespace}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	// Pods cannot be created before the service account controller made "default".
	for {
		_, err := cs.CoreV1().ServiceAccounts(c.namespace).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsNotFound(err) || ctx.Err() != nil {
			c.teardown()
			return nil, fmt.Errorf("service account default in %s: %w", c.namespace, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.saReady = time.Now()
	logs := filepath.Join(c.data, ".agent-logs")
	if err := os.Mkdir(logs, 0o700); err != nil {
		return nil, err
	}
	c.agent, err = k8sagent.Start(ctx, k8sagent.Config{Client: cs, NodeName: c.node, LogDir: logs, Logger: testLogger()})
	if err != nil {
		c.teardown()
		return nil, err
	}
	return c, nil
}

func (c *testCluster) teardown() {
	if c.agent != nil {
		c.agent.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = c.cs.CoreV1().Namespaces().Delete(ctx, c.namespace, metav1.DeleteOptions{})
	_ = os.RemoveAll(c.data)
}

func testLogger() *slog.Logger {
	if os.Getenv("ENCLAVE_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// executor returns a kubernetes executor for the test cluster's namespace and node.
func (c *testCluster) executor(t *testing.T, edit func(*kubernetes.Config)) *kubernetes.Executor {
	t.Helper()
	cfg := kubernetes.Config{
		Kubeconfig: c.kubeconfig,
		Namespace:  c.namespace,
		// Never pulled, never run: the node agent runs the command on the host.
		Image:           "enclave.test/engines:1",
		ImagePullPolicy: corev1.PullNever,
		RunAsUser:       65534,
		RunAsGroup:      65534,
		Data:            kubernetes.Volume{MountPath: c.data, HostPath: c.data},
		NodeSelector:    map[string]string{"kubernetes.io/hostname": c.node},
		Grace:           2 * time.Second,
		Logger:          testLogger(),
	}
	if edit != nil {
		edit(&cfg)
	}
	ex, err := kubernetes.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// newJob runs script with sh in a fresh work dir under the data volume.
func (c *testCluster) newJob(t *testing.T, id, script string) *wes.Job {
	t.Helper()
	root := filepath.Join(c.data, "runs", id)
	work := filepath.Join(root, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	return &wes.Job{ID: id, Argv: []string{"sh", "-c", script}, WorkDir: work,
		Stdout: filepath.Join(root, "logs", "stdout.log"), Stderr: filepath.Join(root, "logs", "stderr.log")}
}
