package kubernetes

import (
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Volume names in the pod.
const (
	volData = "data"
	volTmp  = "tmp"
)

func volDataset(i int) string { return "dataset-" + strconv.Itoa(i) }

// mounts is where a job's paths come from: checked by validate, used by jobSpec.
type mounts struct {
	work     corev1.VolumeMount
	datasets []corev1.VolumeMount
	used     []int // indexes of Config.Datasets that jobSpec must declare
}

// within returns path relative to root when path is root or below it.
func within(root, path string) (string, bool) {
	rel, err := filepath.Rel(root, path)
	if err != nil || !(rel == "." || filepath.IsLocal(rel)) {
		return "", false
	}
	return rel, true
}

// subPath joins a volume's SubPath and a relative path; "" is the volume's root.
func subPath(base, rel string) string {
	p := filepath.Join(base, rel)
	if p == "." {
		return ""
	}
	return filepath.ToSlash(p)
}

// planMounts maps the job's work dir and datasets onto the configured volumes. Messages
// name the field, never the path (paths inside the zone stay out of client errors).
func (e *Executor) planMounts(job *wes.Job) (mounts, error) {
	var m mounts
	rel, ok := within(e.cfg.Data.MountPath, job.WorkDir)
	if !ok || rel == "." {
		return m, wes.Errorf(wes.EINVALID, "job work_dir must be a directory inside the kubernetes executor's data volume")
	}
	m.work = corev1.VolumeMount{Name: volData, MountPath: job.WorkDir, SubPath: subPath(e.cfg.Data.SubPath, rel)}
	seen := map[string]bool{job.WorkDir: true, "/tmp": true}
	for _, ds := range job.Datasets {
		if ds.Path == "" || !filepath.IsAbs(ds.Path) || filepath.Clean(ds.Path) != ds.Path {
			return m, wes.Errorf(wes.EINVALID, "dataset %q: its path must be a clean absolute path", ds.ID)
		}
		if seen[ds.Path] {
			if ds.Path == job.WorkDir || ds.Path == "/tmp" {
				return m, wes.Errorf(wes.EINVALID, "dataset %q: its path collides with the job's work directory or /tmp", ds.ID)
			}
			continue // the same dataset twice: one mount
		}
		seen[ds.Path] = true
		i := e.datasetVolume(ds.Path)
		if i < 0 {
			return m, wes.Errorf(wes.EINVALID, "dataset %q is not on any volume the kubernetes executor is configured to mount", ds.ID)
		}
		v := e.cfg.Datasets[i]
		rel, _ := within(v.MountPath, ds.Path)
		m.datasets = append(m.datasets, corev1.VolumeMount{Name: volDataset(i), MountPath: ds.Path, SubPath: subPath(v.SubPath, rel), ReadOnly: true})
		if !slices.Contains(m.used, i) {
			m.used = append(m.used, i)
		}
	}
	// A parent directory is mounted before what lies inside it, or it would hide it.
	slices.SortFunc(m.datasets, func(a, b corev1.VolumeMount) int { return strings.Compare(a.MountPath, b.MountPath) })
	return m, nil
}

// datasetVolume is the index of the dataset volume with the longest MountPath that
// contains path, or -1.
func (e *Executor) datasetVolume(path string) int {
	best := -1
	for i, v := range e.cfg.Datasets {
		if _, ok := within(v.MountPath, path); ok && (best < 0 || len(v.MountPath) > len(e.cfg.Datasets[best].MountPath)) {
			best = i
		}
	}
	return best
}

func (v Volume) source(readOnly bool) corev1.VolumeSource {
	if v.ClaimName != "" {
		return corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.ClaimName, ReadOnly: readOnly}}
	}
	dir := corev1.HostPathDirectory
	return corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: v.HostPath, Type: &dir}}
}

// resources are the job's, with the configured defaults for what it leaves zero.
func (e *Executor) resources(job *wes.Job) wes.Resources {
	r := job.Resources
	if r.CPUs == 0 {
		r.CPUs = e.cfg.Defaults.CPUs
	}
	if r.MemoryMB == 0 {
		r.MemoryMB = e.cfg.Defaults.MemoryMB
	}
	if r.TimeLimit == 0 {
		r.TimeLimit = e.cfg.Defaults.TimeLimit
	}
	return r
}

func runLabels(id string) map[string]string {
	return map[string]string{LabelManagedBy: ManagedByEnclave, LabelRunID: runKey(id)}
}

// jobSpec builds the typed Job of a validated job: one pod, never retried, as confined
// as Kubernetes allows (see doc.go).
func (e *Executor) jobSpec(job *wes.Job, m mounts) *batchv1.Job {
	res := e.resources(job)
	limits := corev1.ResourceList{}
	if res.CPUs > 0 {
		limits[corev1.ResourceCPU] = *resource.NewQuantity(int64(res.CPUs), resource.DecimalSI)
	}
	if res.MemoryMB > 0 {
		limits[corev1.ResourceMemory] = *resource.NewQuantity(int64(res.MemoryMB)<<20, resource.BinarySI)
	}
	env := make([]corev1.EnvVar, 0, len(job.Env))
	for _, k := range slices.Sorted(maps.Keys(job.Env)) {
		env = append(env, corev1.EnvVar{Name: k, Value: job.Env[k]})
	}
	tmpSize := resource.MustParse(e.cfg.TmpSize)
	volumes := []corev1.Volume{
		{Name: volData, VolumeSource: e.cfg.Data.source(false)},
		{Name: volTmp, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &tmpSize}}},
	}
	for _, i := range m.used {
		volumes = append(volumes, corev1.Volume{Name: volDataset(i), VolumeSource: e.cfg.Datasets[i].source(true)})
	}
	vm := append([]corev1.VolumeMount{m.work, {Name: volTmp, MountPath: "/tmp"}}, m.datasets...)
	grace := int64(e.cfg.Grace.Seconds() + 0.999)
	var fsGroup *int64
	if e.cfg.FSGroup > 0 {
		fsGroup = new(e.cfg.FSGroup)
	}
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:        jobName(job.ID),
			Namespace:   e.cfg.Namespace,
			Labels:      runLabels(job.ID),
			Annotations: map[string]string{AnnotationRunID: job.ID},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit: new(int32(0)),
			Completions:  new(int32(1)),
			Parallelism:  new(int32(1)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: runLabels(job.ID), Annotations: map[string]string{AnnotationRunID: job.ID}},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					ServiceAccountName:            e.cfg.ServiceAccount,
					AutomountServiceAccountToken:  new(false),
					EnableServiceLinks:            new(false),
					TerminationGracePeriodSeconds: &grace,
					NodeSelector:                  maps.Clone(e.cfg.NodeSelector),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   new(true),
						RunAsUser:      new(e.cfg.RunAsUser),
						RunAsGroup:     new(e.cfg.RunAsGroup),
						FSGroup:        fsGroup,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Volumes: volumes,
					Containers: []corev1.Container{{
						Name:            containerName,
						Image:           job.ImageOr(e.cfg.Image),
						ImagePullPolicy: e.cfg.ImagePullPolicy,
						Command:         slices.Clone(job.Argv),
						WorkingDir:      job.WorkDir,
						Env:             env,
						Resources:       corev1.ResourceRequirements{Requests: maps.Clone(limits), Limits: limits},
						VolumeMounts:    vm,
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             new(true),
							Privileged:               new(false),
							ReadOnlyRootFilesystem:   new(true),
							AllowPrivilegeEscalation: new(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						TerminationMessagePolicy: corev1.TerminationMessageReadFile,
					}},
				},
			},
		},
	}
	if res.TimeLimit > 0 {
		secs := int64(res.TimeLimit.Seconds() + 0.999)
		j.Spec.ActiveDeadlineSeconds = &secs
	}
	if e.cfg.TTLSecondsAfterFinished > 0 {
		j.Spec.TTLSecondsAfterFinished = new(e.cfg.TTLSecondsAfterFinished)
	}
	return j
}
