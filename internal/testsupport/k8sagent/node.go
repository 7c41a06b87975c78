package k8sagent

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// waitSchedulable waits for kwok to mark the node Ready, makes sure its status still
// points at this agent's endpoint, and removes the not-ready taint that node admission
// puts on every new node (the node lifecycle controller would, some seconds later).
func (a *Agent) waitSchedulable(ctx context.Context) error {
	nodes := a.cs.CoreV1().Nodes()
	t0 := time.Now()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return slices.ContainsFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool {
			return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		}), nil
	})
	if err != nil {
		return fmt.Errorf("k8sagent: node %s not Ready (is kwok running?): %w", a.cfg.NodeName, err)
	}
	a.log.Info("node ready", "after", time.Since(t0))
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		want := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
		if slices.Equal(n.Status.Addresses, want) && n.Status.DaemonEndpoints.KubeletEndpoint.Port == int32(a.port) {
			return nil
		}
		n.Status.Addresses, n.Status.DaemonEndpoints.KubeletEndpoint.Port = want, int32(a.port)
		_, err = nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("k8sagent: node %s status: %w", a.cfg.NodeName, err)
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		kept := slices.DeleteFunc(slices.Clone(n.Spec.Taints), func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady })
		if len(kept) == len(n.Spec.Taints) {
			return nil
		}
		n.Spec.Taints = kept
		_, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}
