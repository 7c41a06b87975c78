package kubernetes

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// fakeExecutor is an executor on client-go's fake clientset, whose Job creation gets
// a UID as the API server would give.
func fakeExecutor(t *testing.T, edit func(*Config)) (*Executor, *fake.Clientset, string) {
	t.Helper()
	data := t.TempDir()
	cfg := Config{Namespace: "runs", Image: "enclave/engines:1", RunAsUser: 1000, RunAsGroup: 1000,
		Data: Volume{MountPath: data, ClaimName: "enclave-data", SubPath: "zone"}, Grace: 5 * time.Second,
		Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&cfg)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset()
	n := 0
	cs.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		n++
		a.(k8stesting.CreateAction).GetObject().(*batchv1.Job).UID = types.UID("uid-" + string(rune('0'+n)))
		return false, nil, nil
	})
	return newWithClient(cfg, cs), cs, data
}

func fakeJob(t *testing.T, data, id string) *wes.Job {
	t.Helper()
	root := filepath.Join(data, "runs", id)
	if err := os.MkdirAll(filepath.Join(root, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &wes.Job{ID: id, Argv: []string{"snakemake", "--cores", "1"}, WorkDir: filepath.Join(root, "work"),
		Stdout: filepath.Join(root, "logs", "stdout.log"), Stderr: filepath.Join(root, "logs", "stderr.log")}
}

func submitted(t *testing.T, e *Executor, cs *fake.Clientset, job *wes.Job) (wes.Handle, *batchv1.Job) {
	t.Helper()
	h, err := e.Submit(context.Background(), job)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	j, err := cs.BatchV1().Jobs("runs").Get(context.Background(), jobName(job.ID), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return h, j
}

func TestJobSpecConfinement(t *testing.T) {
	e, cs, data := fakeExecutor(t, func(c *Config) {
		c.ServiceAccount = "enclave-jobs"
		c.ImagePullPolicy = corev1.PullNever
		c.TTLSecondsAfterFinished = 3600
		c.NodeSelector = map[string]string{"pool": "jobs"}
		c.Defaults = wes.Resources{CPUs: 2, MemoryMB: 4096}
	})
	job := fakeJob(t, data, "4f1c2a8e-0000-4000-8000-000000000001")
	job.Env = map[string]string{"B": "2", "A": "1"}
	job.Resources = wes.Resources{MemoryMB: 512, TimeLimit: 90*time.Second + time.Millisecond}
	_, j := submitted(t, e, cs, job)

	wantLabels := map[string]string{LabelManagedBy: "enclave", LabelRunID: job.ID}
	for where, got := range map[string]map[string]string{"job": j.Labels, "pod": j.Spec.Template.Labels} {
		for k, v := range wantLabels {
			if got[k] != v {
				t.Errorf("%s label %s = %q, want %q", where, k, got[k], v)
			}
		}
	}
	if j.Annotations[AnnotationRunID] != job.ID {
		t.Errorf("run id annotation = %q", j.Annotations[AnnotationRunID])
	}
	js := j.Spec
	if *js.BackoffLimit != 0 || *js.ActiveDeadlineSeconds != 91 || *js.TTLSecondsAfterFinished != 3600 {
		t.Errorf("backoffLimit %d, activeDeadlineSeconds %d, ttl %d; want 0, 91, 3600", *js.BackoffLimit, *js.ActiveDeadlineSeconds, *js.TTLSecondsAfterFinished)
	}
	ps := js.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever || *ps.AutomountServiceAccountToken || *ps.EnableServiceLinks ||
		ps.ServiceAccountName != "enclave-jobs" || *ps.TerminationGracePeriodSeconds != 5 || ps.NodeSelector["pool"] != "jobs" {
		t.Errorf("pod spec: restart %s, token %v, links %v, sa %q, grace %d, nodeSelector %v",
			ps.RestartPolicy, *ps.AutomountServiceAccountToken, *ps.EnableServiceLinks, ps.ServiceAccountName, *ps.TerminationGracePeriodSeconds, ps.NodeSelector)
	}
	sc := ps.SecurityContext
	if !*sc.RunAsNonRoot || *sc.RunAsUser != 1000 || *sc.RunAsGroup != 1000 || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context = %+v", sc)
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]
	if c.Image != "enclave/engines:1" || c.ImagePullPolicy != corev1.PullNever || strings.Join(c.Command, " ") != "snakemake --cores 1" ||
		len(c.Args) != 0 || c.WorkingDir != job.WorkDir {
		t.Errorf("container: image %q pull %s command %q args %q workingDir %q", c.Image, c.ImagePullPolicy, c.Command, c.Args, c.WorkingDir)
	}
	csc := c.SecurityContext
	if !*csc.ReadOnlyRootFilesystem || *csc.AllowPrivilegeEscalation || *csc.Privileged || !*csc.RunAsNonRoot ||
		len(csc.Capabilities.Drop) != 1 || csc.Capabilities.Drop[0] != "ALL" || len(csc.Capabilities.Add) != 0 {
		t.Errorf("container security context = %+v", csc)
	}
	if len(c.Env) != 2 || c.Env[0] != (corev1.EnvVar{Name: "A", Value: "1"}) || c.Env[1] != (corev1.EnvVar{Name: "B", Value: "2"}) {
		t.Errorf("env = %+v, want A=1, B=2 in order", c.Env)
	}
	cpu, mem := c.Resources.Limits[corev1.ResourceCPU], c.Resources.Limits[corev1.ResourceMemory]
	if cpu.String() != "2" || mem.String() != "512Mi" || !c.Resources.Requests[corev1.ResourceMemory].Equal(mem) {
		t.Errorf("resources = %+v; want cpu 2 (default), memory 512Mi, requests = limits", c.Resources)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m := mounts[job.WorkDir]; m.Name != volData || m.ReadOnly || m.SubPath != "zone/runs/"+job.ID+"/work" {
		t.Errorf("work dir mount = %+v; want the data volume's zone/runs/<id>/work, read-write", m)
	}
	if m := mounts["/tmp"]; m.Name != volTmp {
		t.Errorf("/tmp mount = %+v", m)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range ps.Volumes {
		vols[v.Name] = v
	}
	if v := vols[volData].PersistentVolumeClaim; v == nil || v.ClaimName != "enclave-data" || v.ReadOnly {
		t.Errorf("data volume = %+v", vols[volData])
	}
	if v := vols[volTmp].EmptyDir; v == nil || v.SizeLimit.String() != DefaultTmpSize {
		t.Errorf("tmp volume = %+v", vols[volTmp])
	}
	if len(ps.Volumes) != 2 {
		t.Errorf("%d volumes, want data and tmp only (no datasets asked for)", len(ps.Volumes))
	}
}

func TestJobSpecDatasets(t *testing.T) {
	e, cs, data := fakeExecutor(t, func(c *Config) {
		c.Datasets = []Volume{
			{MountPath: "/zone/datasets", HostPath: "/srv/datasets"},
			{MountPath: "/zone/datasets/genomes", ClaimName: "genomes", SubPath: "v1"},
		}
	})
	job := fakeJob(t, data, "datasets")
	job.Datasets = []wes.DatasetMount{
		{ID: "hg38", Path: "/zone/datasets/genomes/hg38"},
		{ID: "cohort", Path: "/zone/datasets/cohorts/c1"},
		{ID: "cohort-again", Path: "/zone/datasets/cohorts/c1"},
	}
	_, j := submitted(t, e, cs, job)
	ps := j.Spec.Template.Spec
	var got []string
	for _, m := range ps.Containers[0].VolumeMounts {
		if strings.HasPrefix(m.Name, "dataset-") {
			if !m.ReadOnly {
				t.Errorf("dataset mount %+v is writable", m)
			}
			got = append(got, m.Name+":"+m.SubPath+"@"+m.MountPath)
		}
	}
	want := "dataset-0:cohorts/c1@/zone/datasets/cohorts/c1 dataset-1:v1/hg38@/zone/datasets/genomes/hg38"
	if strings.Join(got, " ") != want {
		t.Errorf("dataset mounts = %q, want %q", strings.Join(got, " "), want)
	}
	for _, v := range ps.Volumes {
		switch v.Name {
		case "dataset-1":
			if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "genomes" || !v.PersistentVolumeClaim.ReadOnly {
				t.Errorf("dataset-1 = %+v, want the read-only claim genomes (the longest matching MountPath)", v)
			}
		case "dataset-0":
			if v.HostPath == nil || v.HostPath.Path != "/srv/datasets" {
				t.Errorf("dataset-0 = %+v, want hostPath /srv/datasets", v)
			}
		}
	}
}

func TestSubmitRefuses(t *testing.T) {
	e, _, data := fakeExecutor(t, func(c *Config) {
		c.Datasets = []Volume{{MountPath: "/zone/datasets", ClaimName: "datasets"}}
	})
	outside := t.TempDir()
	for _, c := range []struct {
		name string
		edit func(j *wes.Job)
		code string
	}{
		{"dataset not on a volume", func(j *wes.Job) { j.Datasets = []wes.DatasetMount{{ID: "x", Path: "/elsewhere/x"}} }, wes.EINVALID},
		{"dataset path not clean", func(j *wes.Job) { j.Datasets = []wes.DatasetMount{{ID: "x", Path: "/zone/datasets/../etc"}} }, wes.EINVALID},
		{"dataset relative", func(j *wes.Job) { j.Datasets = []wes.DatasetMount{{ID: "x", Path: "zone/datasets/x"}} }, wes.EINVALID},
		{"work dir outside the data volume", func(j *wes.Job) { j.WorkDir = outside }, wes.EINVALID},
		{"work dir is the data volume", func(j *wes.Job) { j.WorkDir = data }, wes.EINVALID},
		{"env name with =", func(j *wes.Job) { j.Env = map[string]string{"A=B": "x"} }, wes.EINVALID},
		{"no image", func(j *wes.Job) { e.cfg.Image = "" }, wes.EINVALID},
		{"negative memory", func(j *wes.Job) { j.Resources.MemoryMB = -1 }, wes.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			image := e.cfg.Image
			defer func() { e.cfg.Image = image }()
			job := fakeJob(t, data, "refused")
			c.edit(job)
			_, err := e.Submit(context.Background(), job)
			if !wes.IsCode(err, c.code) {
				t.Fatalf("Submit = %v, want %s", err, c.code)
			}
			if msg := wes.ErrorMessage(err); strings.Contains(msg, data) || strings.Contains(msg, outside) || strings.Contains(msg, "/elsewhere") {
				t.Errorf("message %q carries a path", msg)
			}
		})
	}
}

func TestSubmitIdempotentAndConflict(t *testing.T) {
	e, cs, data := fakeExecutor(t, nil)
	job := fakeJob(t, data, "again")
	h1, j := submitted(t, e, cs, job)
	h2, err := e.Submit(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if string(h1.Data) != string(h2.Data) {
		t.Errorf("second Submit's handle %s differs from the first's %s", h2.Data, h1.Data)
	}
	// A Job of the same name that belongs to another run id is not adopted.
	j.Annotations[AnnotationRunID] = "someone-else"
	if _, err := cs.BatchV1().Jobs("runs").Update(context.Background(), j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Submit(context.Background(), job); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("Submit over another run's Job = %v, want %s", err, wes.ECONFLICT)
	}
}

func TestConfigValidation(t *testing.T) {
	good := Config{Namespace: "runs", RunAsUser: 1000, RunAsGroup: 1000, Data: Volume{MountPath: "/data", ClaimName: "data"}}
	if _, err := good.withDefaults(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no namespace", func(c *Config) { c.Namespace = "" }, "Namespace is required"},
		{"bad namespace", func(c *Config) { c.Namespace = "Runs_1" }, "Namespace"},
		{"root user", func(c *Config) { c.RunAsUser = 0 }, "non-root"},
		{"root group", func(c *Config) { c.RunAsGroup = 0 }, "non-root"},
		{"pull always", func(c *Config) { c.ImagePullPolicy = corev1.PullAlways }, "ImagePullPolicy"},
		{"no data volume", func(c *Config) { c.Data = Volume{} }, "Data: MountPath"},
		{"two sources", func(c *Config) { c.Data.HostPath = "/srv/data" }, "exactly one of ClaimName and HostPath"},
		{"escaping subpath", func(c *Config) { c.Data.SubPath = "../x" }, "SubPath"},
		{"relative dataset", func(c *Config) { c.Datasets = []Volume{{MountPath: "d", ClaimName: "d"}} }, "Datasets[0]"},
		{"bad tmp size", func(c *Config) { c.TmpSize = "lots" }, "TmpSize"},
		{"negative grace", func(c *Config) { c.Grace = -time.Second }, "Grace"},
		{"negative ttl", func(c *Config) { c.TTLSecondsAfterFinished = -1 }, "TTLSecondsAfterFinished"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}
