package kubernetes

import (
	"context"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/spe4hd/enclave/pkg/wes"
)

// lostMessage is what Status says when the run's Job is gone.
const lostMessage = "the Kubernetes Job of this run no longer exists"

// observed is what the API server knows of one run: its Job (nil when gone) and pods.
type observed struct {
	job  *batchv1.Job
	pods []corev1.Pod
}

// Status reads the run's Job and pods. When the job has ended, its logs are copied into
// job.Stdout (and job.Stderr) before Status reports the end.
func (e *Executor) Status(ctx context.Context, h wes.Handle) (wes.JobStatus, error) {
	d, obs, err := e.observeHandle(ctx, h)
	if err != nil {
		return wes.JobStatus{}, err
	}
	return e.resolve(ctx, d, obs)
}

// StatusBatch answers for many runs with two label-selected lists, the executor's Jobs
// and their pods, whatever the number of handles.
func (e *Executor) StatusBatch(ctx context.Context, hs []wes.Handle) ([]wes.JobStatus, error) {
	out := make([]wes.JobStatus, len(hs))
	if len(hs) == 0 {
		return out, nil
	}
	ds, err := wes.DecodeHandles(hs, e.decodeHandle)
	if err != nil {
		return nil, err
	}
	sel := metav1.ListOptions{LabelSelector: batchSelector(ds)}
	jobs, err := e.cs.BatchV1().Jobs(e.cfg.Namespace).List(ctx, sel)
	if err != nil {
		return nil, e.apiError(err, "list Jobs")
	}
	pods, err := e.cs.CoreV1().Pods(e.cfg.Namespace).List(ctx, sel)
	if err != nil {
		return nil, e.apiError(err, "list pods")
	}
	byUID := make(map[string]*observed, len(jobs.Items))
	for i := range jobs.Items {
		byUID[string(jobs.Items[i].UID)] = &observed{job: &jobs.Items[i]}
	}
	for _, p := range pods.Items {
		if o := byUID[p.Labels[batchv1.ControllerUidLabel]]; o != nil {
			o.pods = append(o.pods, p)
		}
	}
	for i, d := range ds {
		obs := observed{}
		if o := byUID[d.UID]; o != nil {
			obs = *o
		}
		if out[i], err = e.resolve(ctx, d, obs); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// maxSelectorKeys bounds the run keys named in a batch's label selector; a bigger batch
// lists every Job of the executor instead (still one call).
const maxSelectorKeys = 100

// batchSelector selects the executor's Jobs and pods, only the batch's runs when it is
// small.
func batchSelector(ds []handleData) string {
	sel := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedByEnclave})
	if len(ds) > maxSelectorKeys {
		return sel.String()
	}
	keys := make([]string, len(ds))
	for i, d := range ds {
		keys[i] = runKey(d.RunID)
	}
	r, err := labels.NewRequirement(LabelRunID, selection.In, keys)
	if err != nil { // a key that is no label value: cannot happen, runKey makes labels
		return sel.String()
	}
	return sel.Add(*r).String()
}

func (e *Executor) observe(ctx context.Context, d handleData) (observed, error) {
	j, err := e.cs.BatchV1().Jobs(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return observed{}, nil
	}
	if err != nil {
		return observed{}, e.apiError(err, "read the run's Job")
	}
	if string(j.UID) != d.UID {
		return observed{}, nil // a later Job of the same name: this run's is gone
	}
	pods, err := e.cs.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{batchv1.ControllerUidLabel: d.UID}).String(),
	})
	if err != nil {
		return observed{}, e.apiError(err, "list the run's pods")
	}
	return observed{job: j, pods: pods.Items}, nil
}

// resolve turns what was observed into a status, stops a job whose container cannot
// start, and copies the logs of an ended one.
func (e *Executor) resolve(ctx context.Context, d handleData, obs observed) (wes.JobStatus, error) {
	v := decide(obs)
	if v.stop != "" {
		if err := e.stop(ctx, d, v.stop); err != nil {
			return wes.JobStatus{}, err
		}
		e.log.Warn("job stopped: its container cannot start", "run_id", d.RunID, "reason", v.stop)
	}
	if v.status.State.Ended() && v.pod != nil {
		if err := e.copyLogs(ctx, d, v.pod, v.status.EndTime); err != nil {
			return wes.JobStatus{}, err
		}
	}
	return v.status, nil
}

// verdict is decide's answer: the status, the pod whose logs are the job's, and the
// reason to stop the job when its container cannot start.
type verdict struct {
	status wes.JobStatus
	pod    *corev1.Pod
	stop   string
}

// permanentWaiting are container waiting reasons that do not go away by waiting: the job
// is stopped and fails with stopMessage.
var permanentWaiting = map[string]string{
	"ErrImageNeverPull":          "the job's image is not present on the node, and the executor does not pull images",
	"InvalidImageName":           "the job's image name is not valid",
	"CreateContainerConfigError": "Kubernetes could not configure the job's container (the operators find the details in the pod's events)",
	"CreateContainerError":       "Kubernetes could not create the job's container (the operators find the details in the pod's events)",
}

func stopMessage(reason string) string {
	if m, ok := permanentWaiting[reason]; ok {
		return m
	}
	return "the job was stopped by the executor"
}

// decide maps a Job and its pods to a status. Ends come from the Job's conditions, which
// the job controller sets only once the pods have terminated, and from the executor's
// own stop mark once no pod is left running; the pod gives exit code and times.
func decide(obs observed) verdict {
	j := obs.job
	if j == nil {
		return verdict{status: wes.JobStatus{State: wes.JobLost, Message: lostMessage}}
	}
	pod := newestPod(obs.pods)
	c := containerOf(pod)
	st := wes.JobStatus{StartTime: startTime(pod, c)}
	active, started := 0, c != nil && (c.State.Running != nil || c.State.Terminated != nil)
	for _, p := range obs.pods {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			active++
		}
	}
	term := (*corev1.ContainerStateTerminated)(nil)
	if c != nil {
		term = c.State.Terminated
	}
	end := func(fallback time.Time) time.Time {
		if term != nil && !term.FinishedAt.IsZero() {
			return term.FinishedAt.Time
		}
		return fallback
	}
	setExit := func() {
		if term != nil {
			st.ExitCode = new(int(term.ExitCode))
		}
	}
	cond, condReason, condTime := jobEnd(j)
	if stopped := j.Annotations[AnnotationStopped]; stopped != "" {
		// Ended once the job controller has seen the suspension (else it might still
		// create a pod it had decided on) and no pod is left running.
		if active > 0 || cond == "" && !hasCondition(j, batchv1.JobSuspended) {
			st.State, st.Message = wes.JobQueued, "stopping"
			if started {
				st.State = wes.JobRunning
			}
			return verdict{status: st}
		}
		at, _ := time.Parse(time.RFC3339, j.Annotations[AnnotationStoppedAt])
		st.EndTime = end(at)
		setExit()
		if stopped == stopCanceled {
			st.State, st.Message = wes.JobCanceled, "canceled"
		} else {
			st.State, st.Message = wes.JobFailed, stopMessage(stopped)
		}
		return verdict{status: fixTimes(st), pod: pod}
	}
	switch cond {
	case batchv1.JobComplete:
		st.State, st.EndTime = wes.JobSucceeded, end(condTime)
		st.ExitCode = new(0)
		return verdict{status: fixTimes(st), pod: pod}
	case batchv1.JobFailed:
		st.State, st.EndTime = wes.JobFailed, end(condTime)
		setExit()
		switch {
		case condReason == batchv1.JobReasonDeadlineExceeded:
			st.Message = "the job exceeded its time limit and was stopped"
		case term != nil && term.Reason == "OOMKilled":
			st.Message = "the job ran out of memory (its memory limit) and was killed"
		case term != nil && term.Reason == "StartError":
			st.Message = "the job's command could not be started in the container image"
		case term == nil:
			st.Message = "the job's pod failed before its container ran"
		}
		return verdict{status: fixTimes(st), pod: pod}
	}
	switch {
	case j.Spec.Suspend != nil && *j.Spec.Suspend:
		st.State, st.Message = wes.JobQueued, "the Kubernetes Job is suspended"
	case started:
		st.State = wes.JobRunning
	case c != nil && c.State.Waiting != nil && permanentWaiting[c.State.Waiting.Reason] != "":
		return verdict{status: wes.JobStatus{State: wes.JobQueued, Message: "stopping"}, stop: c.State.Waiting.Reason}
	default:
		st.State = wes.JobQueued
	}
	return verdict{status: st}
}

func hasCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// jobEnd returns the Job's final condition (Complete or Failed), its reason and time.
func jobEnd(j *batchv1.Job) (batchv1.JobConditionType, string, time.Time) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type, c.Reason, c.LastTransitionTime.Time
		}
	}
	return "", "", time.Time{}
}

// newestPod is the job's last pod; with backoffLimit 0 there is normally one.
func newestPod(pods []corev1.Pod) *corev1.Pod {
	var p *corev1.Pod
	for i := range pods {
		if p == nil || p.CreationTimestamp.Before(&pods[i].CreationTimestamp) {
			p = &pods[i]
		}
	}
	return p
}

func containerOf(p *corev1.Pod) *corev1.ContainerStatus {
	if p == nil {
		return nil
	}
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == containerName {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func startTime(p *corev1.Pod, c *corev1.ContainerStatus) time.Time {
	switch {
	case c != nil && c.State.Running != nil:
		return c.State.Running.StartedAt.Time
	case c != nil && c.State.Terminated != nil && !c.State.Terminated.StartedAt.IsZero():
		return c.State.Terminated.StartedAt.Time
	case p != nil && p.Status.StartTime != nil:
		return p.Status.StartTime.Time
	}
	return time.Time{}
}

// fixTimes keeps an ended status's times ordered: Kubernetes times have a resolution of
// a second and come from different clocks (kubelet, controller).
func fixTimes(st wes.JobStatus) wes.JobStatus {
	if !st.StartTime.IsZero() && st.EndTime.Before(st.StartTime) {
		st.EndTime = st.StartTime
	}
	return st
}
