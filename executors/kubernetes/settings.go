package kubernetes

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/spe4hd/enclave/pkg/config/confkit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Settings is the kubernetes executor's section of the configuration file
// (executor.kubernetes). Each field's yaml tag is its key and its help tag what `enclave
// config print-default` says of it; DefaultSettings has the defaults. The executor is
// registered only when Enabled is true. data_dir must be the path at which the data
// volume (data_claim or data_host_path) is mounted in the worker's pod: each job mounts
// its own work directory from that volume at the same path.
type Settings struct {
	// Enabled registers the kubernetes executor. Default false.
	Enabled bool `yaml:"enabled" help:"Register the kubernetes executor."`
	// Kubeconfig is a kubeconfig file; "" uses the worker pod's in-cluster service
	// account. Default "".
	Kubeconfig string `yaml:"kubeconfig" help:"Kubeconfig file; \"\" uses the worker pod's in-cluster service account."`
	// Namespace is where the Jobs are created. Required when enabled.
	Namespace string `yaml:"namespace" help:"Namespace of the Jobs; required when enabled."`
	// ServiceAccount of the job pods; its token is never mounted. Default "" (the
	// namespace's default).
	ServiceAccount string `yaml:"service_account" help:"Service account of the job pods (its token is never mounted); \"\" is the namespace's default."`
	// Image runs the workflow engine (it must contain the engines). Required when enabled.
	Image string `yaml:"image" help:"Image with the workflow engines; required when enabled."`
	// ImagePullPolicy is IfNotPresent or Never. Default IfNotPresent.
	ImagePullPolicy string `yaml:"image_pull_policy" help:"IfNotPresent or Never."`
	// RunAsUser and RunAsGroup are the non-root uid and gid of the job's processes.
	// Default 65534.
	RunAsUser  int `yaml:"run_as_user" help:"Non-root uid of the job's processes."`
	RunAsGroup int `yaml:"run_as_group" help:"Non-root gid of the job's processes."`
	// FSGroup is the pod's fsGroup; 0 sets none. Default 0.
	FSGroup int `yaml:"fs_group" help:"The pods' fsGroup; 0 sets none."`
	// DataClaim or DataHostPath (exactly one) is the volume holding data_dir; DataSubPath
	// is the directory inside it that data_dir is. Default "".
	DataClaim    string `yaml:"data_claim" help:"PersistentVolumeClaim holding data_dir (or data_host_path)."`
	DataHostPath string `yaml:"data_host_path" help:"Node directory holding data_dir (or data_claim)."`
	DataSubPath  string `yaml:"data_sub_path" help:"Directory inside the data volume that data_dir is; \"\" is its root."`
	// Datasets are the volumes holding catalogue datasets, as "ZONEPATH=pvc:CLAIM" or
	// "ZONEPATH=host:/node/dir" entries, each optionally followed by ":SUBPATH" for pvc.
	// A run's datasets are mounted read-only at their paths from the volume whose
	// ZONEPATH contains them; others are refused. Default [].
	Datasets []string `yaml:"datasets" help:"Dataset volumes, \"ZONEPATH=pvc:CLAIM[:SUBPATH]\" or \"ZONEPATH=host:/node/dir\"; a run's datasets are mounted read-only from them."`
	// DefaultCPUs, DefaultMemoryMB and DefaultTimeLimit apply to jobs whose run asks for
	// none. 0 means no limit. Default 0.
	DefaultCPUs      int           `yaml:"default_cpus" help:"CPUs of a job whose run asks for none; 0 is no limit."`
	DefaultMemoryMB  int           `yaml:"default_memory_mb" help:"Memory (MiB) of a job whose run asks for none; 0 is no limit."`
	DefaultTimeLimit time.Duration `yaml:"default_time_limit" help:"Wall-clock limit of a job whose run asks for none; 0 is no limit."`
	// TmpSize is the size of the emptyDir on /tmp. Default "256Mi".
	TmpSize string `yaml:"tmp_size" help:"Size of the emptyDir on /tmp (the root file system is read-only)."`
	// NodeSelector restricts the job pods to nodes with these labels, as "key=value"
	// entries. Default [].
	NodeSelector []string `yaml:"node_selector" help:"Node labels the job pods need, \"key=value\" entries."`
	// TTLAfterFinished lets Kubernetes delete ended Jobs after this long; 0 keeps them
	// until the run is finalized. Default 0.
	TTLAfterFinished time.Duration `yaml:"ttl_after_finished" help:"Kubernetes deletes ended Jobs after this long; 0 keeps them until the run is finalized."`
	// Grace is the pods' termination grace period. Default 30s.
	Grace time.Duration `yaml:"grace" help:"Time a cancelled pod gets between SIGTERM and SIGKILL."`
	// SplitLogStreams reads stdout and stderr apart (needs the PodLogsQuerySplitStreams
	// feature gate). Default false: one interleaved stream goes to stdout.
	SplitLogStreams bool `yaml:"split_log_streams" help:"Read stdout and stderr apart (needs the PodLogsQuerySplitStreams feature gate)."`
	// MaxRunning caps the runs with a Job at once; more wait QUEUED in Enclave. Default
	// 0: no cap (the scheduler queues pods itself).
	MaxRunning int `yaml:"max_running" help:"Runs that may have a Job at once; more wait QUEUED in Enclave. 0: no cap."`
}

// DefaultSettings are the settings of a configuration that says nothing of
// executor.kubernetes.
func DefaultSettings() Settings {
	return Settings{ImagePullPolicy: string(corev1.PullIfNotPresent), RunAsUser: 65534, RunAsGroup: 65534,
		Datasets: []string{}, TmpSize: DefaultTmpSize, NodeSelector: []string{}, Grace: DefaultGrace}
}

// k8sName is a DNS-1123 label (namespaces, claims, service accounts are checked again,
// fully, by New).
var k8sName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// Validate reports every problem of enabled settings, each a *confkit.FieldError naming
// its key; the keys of a disabled executor are not checked.
func (s Settings) Validate() error {
	if !s.Enabled {
		return nil
	}
	p := confkit.NewProblems("executor." + Name)
	p.Check("namespace", k8sName.MatchString(s.Namespace), "required: a Kubernetes namespace name")
	p.Check("image", s.Image != "", "required when executor.kubernetes.enabled is true")
	p.OneOf("image_pull_policy", s.ImagePullPolicy, []string{string(corev1.PullIfNotPresent), string(corev1.PullNever)})
	p.Check("run_as_user", s.RunAsUser > 0, "must be a non-root uid (1 or more): jobs never run as root")
	p.Check("run_as_group", s.RunAsGroup > 0, "must be a non-root gid (1 or more)")
	p.AtLeast("fs_group", s.FSGroup, 0)
	p.Check("data_claim", (s.DataClaim == "") != (s.DataHostPath == ""),
		"set exactly one of data_claim and data_host_path: the volume that holds data_dir")
	p.Check("data_host_path", s.DataHostPath == "" || strings.HasPrefix(s.DataHostPath, "/"), "must be an absolute path")
	_, err := s.ParseDatasets()
	p.Append(err)
	_, err = s.ParseNodeSelector()
	p.Append(err)
	p.AtLeast("default_cpus", s.DefaultCPUs, 0)
	p.AtLeast("default_memory_mb", s.DefaultMemoryMB, 0)
	p.Check("default_time_limit", s.DefaultTimeLimit >= 0, "must not be negative")
	p.Check("ttl_after_finished", s.TTLAfterFinished >= 0 && s.TTLAfterFinished <= 366*24*time.Hour,
		"must be between 0 and 8784h (a year)")
	p.PositiveDuration("grace", s.Grace)
	return p.Err()
}

// DatasetVolume is one entry of datasets: the zone path it holds and its claim (with a
// sub-path) or node directory.
type DatasetVolume struct {
	ZonePath, Claim, HostPath, SubPath string
}

// ParseDatasets returns datasets. Each problem is a *confkit.FieldError naming the entry.
func (s Settings) ParseDatasets() ([]DatasetVolume, error) {
	var out []DatasetVolume
	for i, e := range s.Datasets {
		bad := &confkit.FieldError{Path: fmt.Sprintf("executor.%s.datasets[%d]", Name, i),
			Msg: `want "/zone/path=pvc:CLAIM", "/zone/path=pvc:CLAIM:SUBPATH" or "/zone/path=host:/node/dir"`}
		zone, src, ok := strings.Cut(e, "=")
		if !ok || !strings.HasPrefix(zone, "/") {
			return nil, bad
		}
		kind, rest, _ := strings.Cut(src, ":")
		switch kind {
		case "pvc":
			claim, sub, _ := strings.Cut(rest, ":")
			if !k8sName.MatchString(claim) || strings.HasPrefix(sub, "/") {
				return nil, bad
			}
			out = append(out, DatasetVolume{ZonePath: zone, Claim: claim, SubPath: sub})
		case "host":
			if !strings.HasPrefix(rest, "/") {
				return nil, bad
			}
			out = append(out, DatasetVolume{ZonePath: zone, HostPath: rest})
		default:
			return nil, bad
		}
	}
	return out, nil
}

// ParseNodeSelector returns node_selector as a map.
func (s Settings) ParseNodeSelector() (map[string]string, error) {
	out := map[string]string{}
	for i, e := range s.NodeSelector {
		key, val, ok := strings.Cut(e, "=")
		if !ok || key == "" {
			return nil, &confkit.FieldError{Path: fmt.Sprintf("executor.%s.node_selector[%d]", Name, i), Msg: `want "key=value"`}
		}
		out[key] = val
	}
	return out, nil
}

// Registered reports whether the server registers the executor: when it is enabled.
func (s Settings) Registered() bool { return s.Enabled }

// Params are the executor parameters the kubernetes executor honours: the job's resources.
func (s Settings) Params() []wes.EngineParam { return wes.ResourceParams }

// RunLimit is max_running.
func (s Settings) RunLimit() int { return s.MaxRunning }

// ServerPaths is the kubeconfig file.
func (s Settings) ServerPaths() []string { return []string{s.Kubeconfig} }

// Config is the executor's Config for these settings in env: data_dir is the zone path
// of the data volume.
func (s Settings) Config(env confkit.Env) (Config, error) {
	datasets, err := s.ParseDatasets()
	if err != nil {
		return Config{}, err
	}
	selector, err := s.ParseNodeSelector()
	if err != nil {
		return Config{}, err
	}
	kc := Config{
		Kubeconfig: s.Kubeconfig, Namespace: s.Namespace, ServiceAccount: s.ServiceAccount,
		Image: s.Image, ImagePullPolicy: corev1.PullPolicy(s.ImagePullPolicy),
		RunAsUser: int64(s.RunAsUser), RunAsGroup: int64(s.RunAsGroup), FSGroup: int64(s.FSGroup),
		Data:     Volume{MountPath: env.DataDir, ClaimName: s.DataClaim, HostPath: s.DataHostPath, SubPath: s.DataSubPath},
		Defaults: wes.Resources{CPUs: s.DefaultCPUs, MemoryMB: s.DefaultMemoryMB, TimeLimit: s.DefaultTimeLimit},
		TmpSize:  s.TmpSize, NodeSelector: selector,
		TTLSecondsAfterFinished: int32(s.TTLAfterFinished.Seconds()),
		Grace:                   s.Grace, SplitLogStreams: s.SplitLogStreams,
		Logger: env.Logger.With("executor", Name),
	}
	for _, d := range datasets {
		kc.Datasets = append(kc.Datasets, Volume{MountPath: d.ZonePath, ClaimName: d.Claim, HostPath: d.HostPath, SubPath: d.SubPath})
	}
	return kc, nil
}

// NewExecutor builds the kubernetes executor these settings describe (the registry's
// factory). An API server that cannot be reached yet is only logged: runs keep their
// state until it answers.
func (s Settings) NewExecutor(ctx context.Context, env confkit.Env) (wes.Executor, error) {
	cfg, err := s.Config(env)
	if err != nil {
		return nil, err
	}
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := e.Ping(ctx); err != nil {
		env.Logger.Warn("the Kubernetes API server cannot be reached yet; runs on it wait until it answers", "err", err)
	}
	return e, nil
}
