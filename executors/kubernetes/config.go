package kubernetes

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spe4hd/enclave/executors/internal/defaults"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Name is the kubernetes executor's registry name.
const Name = "kubernetes"

// Defaults.
const (
	DefaultGrace   = 30 * time.Second
	DefaultTmpSize = "256Mi"
)

// Volume is a volume of the cluster that holds paths of the zone: either a
// PersistentVolumeClaim (ClaimName) or a directory on every node (HostPath), exactly one.
// The zone path MountPath is the root of the volume's SubPath; a zone path under
// MountPath is mounted at the same path in the job's container, so paths in argv and
// params stay valid.
type Volume struct {
	// MountPath is the zone path that corresponds to the volume's SubPath (for the data
	// volume: the data directory the worker sees; for a dataset volume: the prefix of the
	// dataset paths it holds). Absolute. Required.
	MountPath string
	// ClaimName is the PersistentVolumeClaim in Config.Namespace.
	ClaimName string
	// HostPath is a directory present on every node that may run jobs.
	HostPath string
	// SubPath is the directory inside the volume that MountPath corresponds to. Default:
	// the volume's root.
	SubPath string
}

// Config configures the kubernetes executor. New never reads the environment itself
// (in-cluster credentials are the service account files Kubernetes mounts).
type Config struct {
	// Kubeconfig is the path of a kubeconfig file; its current context is used. Empty:
	// the in-cluster configuration of the pod the worker runs in.
	Kubeconfig string
	// Namespace is where the executor creates its Jobs. Required.
	Namespace string
	// ServiceAccount is the service account of the job pods. Default: the namespace's
	// "default". Its token is never mounted (automountServiceAccountToken: false).
	ServiceAccount string
	// Image is the image jobs run when job.Image is empty. Required unless every job
	// names its image.
	Image string
	// ImagePullPolicy is IfNotPresent (the default) or Never. Always is refused: jobs
	// run images that are already on the nodes.
	ImagePullPolicy corev1.PullPolicy
	// RunAsUser and RunAsGroup are the uid and gid of the job's processes. Required,
	// non-zero: jobs never run as root.
	RunAsUser, RunAsGroup int64
	// FSGroup, when set, is the pod's supplementary group that owns volumes which
	// support ownership management.
	FSGroup int64
	// Data is the volume holding the runs' work directories: job.WorkDir must be under
	// Data.MountPath. Only the job's own work directory is mounted (subPath),
	// read-write, at job.WorkDir. Required.
	Data Volume
	// Datasets are the volumes holding catalogue datasets. Each of job.Datasets is
	// mounted read-only at its path, from the volume with the longest MountPath that
	// contains it;
	// a dataset no volume contains makes Submit fail with EINVALID.
	Datasets []Volume
	// Defaults are the resources of a job that asks for none (zero fields of
	// job.Resources). CPUs and MemoryMB become the container's requests and limits;
	// TimeLimit the Job's activeDeadlineSeconds. Zero: no limit.
	Defaults wes.Resources
	// TmpSize is the size limit of the emptyDir mounted on /tmp (the root file system is
	// read-only). Default: DefaultTmpSize.
	TmpSize string
	// NodeSelector restricts the job pods to nodes with these labels.
	NodeSelector map[string]string
	// TTLSecondsAfterFinished, when positive, lets Kubernetes delete an ended Job after
	// this many seconds. It must be well above the time the worker takes to see the end
	// and finalize the run: a Job deleted before that makes the run lost. Default: 0,
	// the Job stays until Cleanup.
	TTLSecondsAfterFinished int32
	// Grace is terminationGracePeriodSeconds: the time between SIGTERM and SIGKILL when
	// a job is canceled or exceeds its time limit. Default: DefaultGrace.
	Grace time.Duration
	// SplitLogStreams asks the API server for stdout and stderr separately. It needs the
	// PodLogsQuerySplitStreams feature gate on the API server and the kubelets (alpha
	// in Kubernetes 1.37). Default false: the container's one log stream, stdout and
	// stderr interleaved, goes to job.Stdout and job.Stderr is left empty.
	SplitLogStreams bool
	// Logger receives the executor's logs. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("kubernetes executor: "+format, args...))
	}
	if c.Namespace == "" {
		bad("Namespace is required")
	} else if msgs := validation.IsDNS1123Label(c.Namespace); len(msgs) > 0 {
		bad("Namespace %q: %s", c.Namespace, strings.Join(msgs, "; "))
	}
	if c.ServiceAccount != "" {
		if msgs := validation.IsDNS1123Subdomain(c.ServiceAccount); len(msgs) > 0 {
			bad("ServiceAccount %q: %s", c.ServiceAccount, strings.Join(msgs, "; "))
		}
	}
	switch c.ImagePullPolicy {
	case "":
		c.ImagePullPolicy = corev1.PullIfNotPresent
	case corev1.PullIfNotPresent, corev1.PullNever:
	default:
		bad("ImagePullPolicy %q: want IfNotPresent or Never (the executor never pulls images on purpose)", c.ImagePullPolicy)
	}
	if c.RunAsUser <= 0 || c.RunAsGroup <= 0 {
		bad("RunAsUser and RunAsGroup must be set to a non-root uid and gid (not 0)")
	}
	if c.FSGroup < 0 {
		bad("FSGroup %d must not be negative", c.FSGroup)
	}
	if err := c.Data.check("Data"); err != nil {
		errs = append(errs, err)
	}
	for i, v := range c.Datasets {
		if err := v.check(fmt.Sprintf("Datasets[%d]", i)); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Defaults.CPUs < 0 || c.Defaults.MemoryMB < 0 || c.Defaults.TimeLimit < 0 {
		bad("Defaults must not be negative")
	}
	if c.TmpSize == "" {
		c.TmpSize = DefaultTmpSize
	}
	if _, err := resource.ParseQuantity(c.TmpSize); err != nil {
		bad("TmpSize %q is not a Kubernetes quantity (e.g. 256Mi)", c.TmpSize)
	}
	if c.TTLSecondsAfterFinished < 0 {
		bad("TTLSecondsAfterFinished %d must not be negative", c.TTLSecondsAfterFinished)
	}
	errs = append(errs, defaults.Duration(&c.Grace, DefaultGrace, "kubernetes executor: Grace"))
	defaults.Logger(&c.Logger)
	return c, errors.Join(errs...)
}

func (v Volume) check(field string) error {
	var errs []string
	if v.MountPath == "" || !filepath.IsAbs(v.MountPath) || filepath.Clean(v.MountPath) != v.MountPath {
		errs = append(errs, "MountPath must be a clean absolute path")
	}
	if (v.ClaimName == "") == (v.HostPath == "") {
		errs = append(errs, "set exactly one of ClaimName and HostPath")
	}
	if v.ClaimName != "" && len(validation.IsDNS1123Subdomain(v.ClaimName)) > 0 {
		errs = append(errs, "ClaimName is not a valid claim name")
	}
	if v.HostPath != "" && !filepath.IsAbs(v.HostPath) {
		errs = append(errs, "HostPath must be absolute")
	}
	if v.SubPath != "" && (filepath.IsAbs(v.SubPath) || !filepath.IsLocal(v.SubPath)) {
		errs = append(errs, "SubPath must be a relative path inside the volume")
	}
	if len(errs) > 0 {
		return fmt.Errorf("kubernetes executor: %s: %s", field, strings.Join(errs, "; "))
	}
	return nil
}

// Executor is the kubernetes executor. It keeps no job state in memory: the Job objects
// and the handle hold everything, so any instance can take a job over.
type Executor struct {
	cfg Config
	log *slog.Logger
	cs  k8s.Interface
}

// New validates cfg and builds a client for the cluster. It does not contact the API
// server (a worker may start while the cluster is briefly away); Ping does.
func New(cfg Config) (*Executor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var rc *rest.Config
	if cfg.Kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes executor: cluster configuration: %w", err)
	}
	// A worker polls many runs: client-go's default 5 requests/s would throttle it.
	rc.QPS, rc.Burst = 50, 100
	rc.Timeout = time.Minute
	rc.UserAgent = "enclave-kubernetes-executor"
	cs, err := k8s.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes executor: client: %w", err)
	}
	return newWithClient(cfg, cs), nil
}

// newWithClient is New for an already validated cfg and a given client (tests use
// client-go's fake clientset).
func newWithClient(cfg Config, cs k8s.Interface) *Executor {
	return &Executor{cfg: cfg, log: cfg.Logger.With("executor", Name), cs: cs}
}

// Name returns "kubernetes".
func (e *Executor) Name() string { return Name }
