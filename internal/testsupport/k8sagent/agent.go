// Package k8sagent is a test-only stand-in for a kubelet: it registers a Node (kept
// alive by kwok, which the test control plane runs for node heartbeats only), runs the
// container command of every pod bound to that node as a host process, reports the
// pod's status through the pods/status subresource as a kubelet does, stops processes
// when their pod is deleted, and serves the kubelet's /containerLogs endpoint, over
// TLS, so that `kubectl logs` and client-go's GetLogs work through the API server.
//
// It exists because no kubelet or container runtime can run in the test sandbox; it is
// not a container runtime and applies none of a pod's confinement (see startProc).
package k8sagent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	k8s "k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Config configures an Agent.
type Config struct {
	Client   k8s.Interface
	NodeName string // the Node to register; a unique name per agent keeps agents apart
	LogDir   string // where container logs are kept
	Logger   *slog.Logger
}

// Agent runs the pods of one node. Start it, and Stop it when done.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	cs    k8s.Interface
	srv   *http.Server
	port  int
	queue workqueue.TypedDelayingInterface[string]
	pods  listersv1.PodLister
	ctx   context.Context // ends when the agent stops
	stop  context.CancelFunc
	wg    sync.WaitGroup

	mu    sync.Mutex
	procs map[string]*proc   // by namespace/name
	ran   map[types.UID]bool // pods started once: never again
	logs  map[string]string  // namespace/pod/container → log file
}

// Start serves the log endpoint, registers the node, waits until it is schedulable and
// starts running its pods.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Client == nil || cfg.NodeName == "" || cfg.LogDir == "" {
		return nil, errors.New("k8sagent: Client, NodeName and LogDir are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &Agent{cfg: cfg, log: cfg.Logger.With("component", "k8sagent", "node", cfg.NodeName), cs: cfg.Client,
		queue: workqueue.NewTypedDelayingQueue[string](), procs: map[string]*proc{}, ran: map[types.UID]bool{}, logs: map[string]string{}}
	cert, err := selfSigned()
	if err != nil {
		return nil, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	a.port = ln.Addr().(*net.TCPAddr).Port
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serveLogs), ReadHeaderTimeout: 10 * time.Second}
	a.wg.Go(func() { _ = a.srv.Serve(ln) })
	if err := a.register(ctx); err != nil {
		_ = a.srv.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	a.ctx, a.stop = runCtx, cancel
	f := informers.NewSharedInformerFactoryWithOptions(a.cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = "spec.nodeName=" + cfg.NodeName
	}))
	inf := f.Core().V1().Pods()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			a.queue.Add(key)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	}); err != nil {
		a.Stop()
		return nil, err
	}
	a.pods = inf.Lister()
	f.Start(runCtx.Done())
	a.wg.Go(func() { f.Shutdown() })
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		a.Stop()
		return nil, errors.New("k8sagent: the pod informer did not sync")
	}
	a.wg.Go(a.work)
	return a, nil
}

// Port is the port of the agent's kubelet endpoint.
func (a *Agent) Port() int { return a.port }

// Stop kills every process, stops watching and deletes the node (pods left on it are
// removed by the cluster's pod garbage collector).
func (a *Agent) Stop() {
	if a.stop != nil {
		a.stop()
	}
	a.queue.ShutDown()
	a.mu.Lock()
	procs := make([]*proc, 0, len(a.procs))
	for _, p := range a.procs {
		procs = append(procs, p)
	}
	a.mu.Unlock()
	for _, p := range procs {
		p.kill()
	}
	_ = a.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.cs.CoreV1().Nodes().Delete(ctx, a.cfg.NodeName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		a.log.Warn("deleting the node", "err", err)
	}
	a.wg.Wait()
}

func (a *Agent) work() {
	for {
		key, quit := a.queue.Get()
		if quit {
			return
		}
		if err := a.sync(key); err != nil {
			a.log.Warn("pod sync failed", "pod", key, "err", err)
			a.queue.AddAfter(key, 200*time.Millisecond)
		}
		a.queue.Done(key)
	}
}

func (a *Agent) register(ctx context.Context) error {
	res := corev1.ResourceList{}
	for k, v := range map[corev1.ResourceName]string{corev1.ResourceCPU: "32", corev1.ResourceMemory: "256Gi", corev1.ResourcePods: "110"} {
		res[k] = mustQuantity(v)
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        a.cfg.NodeName,
			Labels:      map[string]string{"kubernetes.io/hostname": a.cfg.NodeName, "kubernetes.io/os": "linux", "type": "kwok"},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
		},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(a.port)}},
			Allocatable:     res,
			Capacity:        res,
		},
	}
	if _, err := a.cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("k8sagent: registering node %s: %w", a.cfg.NodeName, err)
	}
	return a.waitSchedulable(ctx)
}
