package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// k8sName is a DNS-1123 label (namespaces, claims, service accounts are checked again,
// fully, by the executor).
var k8sName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// validateKubernetes checks the keys of an enabled kubernetes executor.
func validateKubernetes(v *validator, k KubernetesExecutorConfig) {
	v.Check("executor.kubernetes.namespace", k8sName.MatchString(k.Namespace), "required: a Kubernetes namespace name")
	v.Check("executor.kubernetes.image", k.Image != "", "required when executor.kubernetes.enabled is true")
	v.OneOf("executor.kubernetes.image_pull_policy", k.ImagePullPolicy, []string{"IfNotPresent", "Never"})
	v.Check("executor.kubernetes.run_as_user", k.RunAsUser > 0, "must be a non-root uid (1 or more): jobs never run as root")
	v.Check("executor.kubernetes.run_as_group", k.RunAsGroup > 0, "must be a non-root gid (1 or more)")
	v.AtLeast("executor.kubernetes.fs_group", k.FSGroup, 0)
	v.Check("executor.kubernetes.data_claim", (k.DataClaim == "") != (k.DataHostPath == ""),
		"set exactly one of data_claim and data_host_path: the volume that holds data_dir")
	v.Check("executor.kubernetes.data_host_path", k.DataHostPath == "" || strings.HasPrefix(k.DataHostPath, "/"), "must be an absolute path")
	if _, err := k.ParseDatasets(); err != nil {
		v.Append(err)
	}
	if _, err := k.ParseNodeSelector(); err != nil {
		v.Append(err)
	}
	v.AtLeast("executor.kubernetes.default_cpus", k.DefaultCPUs, 0)
	v.AtLeast("executor.kubernetes.default_memory_mb", k.DefaultMemoryMB, 0)
	v.Check("executor.kubernetes.default_time_limit", k.DefaultTimeLimit >= 0, "must not be negative")
	v.Check("executor.kubernetes.ttl_after_finished", k.TTLAfterFinished >= 0 && k.TTLAfterFinished <= 366*24*time.Hour,
		"must be between 0 and 8784h (a year)")
	v.PositiveDuration("executor.kubernetes.grace", k.Grace)
}

// KubernetesVolume is one entry of executor.kubernetes.datasets.
type KubernetesVolume struct {
	ZonePath, Claim, HostPath, SubPath string
}

// ParseDatasets returns executor.kubernetes.datasets. Each problem is a *FieldError
// naming the entry.
func (k KubernetesExecutorConfig) ParseDatasets() ([]KubernetesVolume, error) {
	var out []KubernetesVolume
	for i, e := range k.Datasets {
		path := fmt.Sprintf("executor.kubernetes.datasets[%d]", i)
		bad := &FieldError{Path: path, Msg: `want "/zone/path=pvc:CLAIM", "/zone/path=pvc:CLAIM:SUBPATH" or "/zone/path=host:/node/dir"`}
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
			out = append(out, KubernetesVolume{ZonePath: zone, Claim: claim, SubPath: sub})
		case "host":
			if !strings.HasPrefix(rest, "/") {
				return nil, bad
			}
			out = append(out, KubernetesVolume{ZonePath: zone, HostPath: rest})
		default:
			return nil, bad
		}
	}
	return out, nil
}

// ParseNodeSelector returns executor.kubernetes.node_selector as a map.
func (k KubernetesExecutorConfig) ParseNodeSelector() (map[string]string, error) {
	out := map[string]string{}
	for i, e := range k.NodeSelector {
		key, val, ok := strings.Cut(e, "=")
		if !ok || key == "" {
			return nil, &FieldError{Path: fmt.Sprintf("executor.kubernetes.node_selector[%d]", i), Msg: `want "key=value"`}
		}
		out[key] = val
	}
	return out, nil
}
