package app

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"

	"github.com/spe4hd/enclave/executors/kubernetes"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/wes"
)

// newKubernetes builds the kubernetes executor from executor.kubernetes; data_dir
// (absolute by now) is the zone path of the data volume. An API server that cannot be
// reached at start is only logged: runs keep their state until it answers.
func newKubernetes(ctx context.Context, cfg config.Config, log *slog.Logger) (*kubernetes.Executor, error) {
	k := cfg.Executor.Kubernetes
	datasets, err := k.ParseDatasets()
	if err != nil {
		return nil, err
	}
	selector, err := k.ParseNodeSelector()
	if err != nil {
		return nil, err
	}
	kc := kubernetes.Config{
		Kubeconfig: k.Kubeconfig, Namespace: k.Namespace, ServiceAccount: k.ServiceAccount,
		Image: k.Image, ImagePullPolicy: corev1.PullPolicy(k.ImagePullPolicy),
		RunAsUser: int64(k.RunAsUser), RunAsGroup: int64(k.RunAsGroup), FSGroup: int64(k.FSGroup),
		Data:     kubernetes.Volume{MountPath: cfg.DataDir, ClaimName: k.DataClaim, HostPath: k.DataHostPath, SubPath: k.DataSubPath},
		Defaults: wes.Resources{CPUs: k.DefaultCPUs, MemoryMB: k.DefaultMemoryMB, TimeLimit: k.DefaultTimeLimit},
		TmpSize:  k.TmpSize, NodeSelector: selector,
		TTLSecondsAfterFinished: int32(k.TTLAfterFinished.Seconds()),
		Grace:                   k.Grace, SplitLogStreams: k.SplitLogStreams,
		Logger: log.With("executor", "kubernetes"),
	}
	for _, d := range datasets {
		kc.Datasets = append(kc.Datasets, kubernetes.Volume{MountPath: d.ZonePath, ClaimName: d.Claim, HostPath: d.HostPath, SubPath: d.SubPath})
	}
	kx, err := kubernetes.New(kc)
	if err != nil {
		return nil, err
	}
	if err := kx.Ping(ctx); err != nil {
		log.Warn("the Kubernetes API server cannot be reached yet; runs on it wait until it answers", "err", err)
	}
	return kx, nil
}
