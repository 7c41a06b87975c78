package kubernetes

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spe4hd/enclave/pkg/wes"
)

func TestRunKey(t *testing.T) {
	long := strings.Repeat("a", 80)
	for _, c := range []struct{ id, want string }{
		{"4f1c2a8e-0000-4000-8000-000000000001", "4f1c2a8e-0000-4000-8000-000000000001"},
		{"ok-1", "ok-1"},
		{"Run_ONE", ""},    // sanitized + hash
		{long, ""},         // truncated + hash
		{"--", ""},         // nothing readable: hash only
		{"ünïcode/..", ""}, // non-ASCII and dots
		{"-lead", ""},
	} {
		k := runKey(c.id)
		if c.want != "" && k != c.want {
			t.Errorf("runKey(%q) = %q, want %q", c.id, k, c.want)
		}
		if !dnsLabel.MatchString(k) || len(jobName(c.id)) > maxName {
			t.Errorf("runKey(%q) = %q: not a DNS label, or job name %q longer than %d", c.id, k, jobName(c.id), maxName)
		}
		if runKey(c.id) != k {
			t.Errorf("runKey(%q) is not deterministic", c.id)
		}
	}
	if a, b := runKey("Run_ONE"), runKey("run-one"); a == b {
		t.Errorf("runKey: %q and %q share the key %q", "Run_ONE", "run-one", a)
	}
	if a, b := runKey(long), runKey(long+"b"); a == b {
		t.Errorf("long ids that differ at the end share the key %q", a)
	}
}

func cond(t batchv1.JobConditionType, reason string) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, LastTransitionTime: metav1.NewTime(time.Unix(2000, 0))}
}

func pod(phase corev1.PodPhase, state corev1.ContainerState) corev1.Pod {
	return corev1.Pod{Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{Name: containerName, State: state}}}}
}

func terminated(code int32, reason string) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason,
		StartedAt: metav1.NewTime(time.Unix(1000, 0)), FinishedAt: metav1.NewTime(time.Unix(1010, 0))}}
}

func TestDecide(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(time.Unix(1000, 0))}}
	canceled := map[string]string{AnnotationStopped: stopCanceled, AnnotationStoppedAt: time.Unix(3000, 0).UTC().Format(time.RFC3339)}
	suspended := batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobSuspended, "JobSuspended")}}
	for _, c := range []struct {
		name     string
		job      *batchv1.Job
		pods     []corev1.Pod
		state    wes.JobState
		exit     string
		message  string
		stop     string
		end      int64
		withLogs bool
	}{
		{name: "gone", state: wes.JobLost, exit: "none", message: lostMessage},
		{name: "no pod yet", job: &batchv1.Job{}, state: wes.JobQueued, exit: "none"},
		{name: "pending", job: &batchv1.Job{}, pods: []corev1.Pod{pod(corev1.PodPending, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}})}, state: wes.JobQueued, exit: "none"},
		{name: "running", job: &batchv1.Job{}, pods: []corev1.Pod{pod(corev1.PodRunning, running)}, state: wes.JobRunning, exit: "none"},
		{name: "pod ended, job not yet", job: &batchv1.Job{}, pods: []corev1.Pod{pod(corev1.PodSucceeded, terminated(0, "Completed"))}, state: wes.JobRunning, exit: "none"},
		{name: "complete", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobComplete, "")}}},
			pods: []corev1.Pod{pod(corev1.PodSucceeded, terminated(0, "Completed"))}, state: wes.JobSucceeded, exit: "0", end: 1010, withLogs: true},
		{name: "failed", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)}}},
			pods: []corev1.Pod{pod(corev1.PodFailed, terminated(3, "Error"))}, state: wes.JobFailed, exit: "3", end: 1010, withLogs: true},
		{name: "time limit", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)}}},
			pods: []corev1.Pod{pod(corev1.PodFailed, terminated(143, "Error"))}, state: wes.JobFailed, exit: "143", message: "time limit", end: 1010, withLogs: true},
		{name: "out of memory", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)}}},
			pods: []corev1.Pod{pod(corev1.PodFailed, terminated(137, "OOMKilled"))}, state: wes.JobFailed, exit: "137", message: "out of memory", end: 1010, withLogs: true},
		{name: "deadline before start", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)}}},
			state: wes.JobFailed, exit: "none", message: "time limit", end: 2000},
		{name: "canceling", job: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Annotations: canceled}}, pods: []corev1.Pod{pod(corev1.PodRunning, running)}, state: wes.JobRunning, exit: "none", message: "stopping"},
		{name: "canceled, suspension not yet seen", job: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Annotations: canceled}}, state: wes.JobQueued, exit: "none", message: "stopping"},
		{name: "canceled", job: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Annotations: canceled}, Status: suspended}, pods: []corev1.Pod{pod(corev1.PodFailed, terminated(143, "Error"))},
			state: wes.JobCanceled, exit: "143", message: "canceled", end: 1010, withLogs: true},
		{name: "canceled before it started", job: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Annotations: canceled}, Status: suspended}, state: wes.JobCanceled, exit: "none", end: 3000},
		{name: "canceled wins over a late Complete", job: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Annotations: canceled}, Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobComplete, "")}}},
			pods: []corev1.Pod{pod(corev1.PodSucceeded, terminated(0, "Completed"))}, state: wes.JobCanceled, exit: "0", end: 1010, withLogs: true},
		{name: "image never pulled", job: &batchv1.Job{}, pods: []corev1.Pod{pod(corev1.PodPending, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull"}})},
			state: wes.JobQueued, exit: "none", stop: "ErrImageNeverPull"},
		{name: "stopped: image", job: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationStopped: "ErrImageNeverPull"}}, Status: suspended},
			state: wes.JobFailed, exit: "none", message: "not present on the node"},
		{name: "suspended by someone", job: &batchv1.Job{Spec: batchv1.JobSpec{Suspend: new(true)}}, state: wes.JobQueued, exit: "none", message: "suspended"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := decide(observed{job: c.job, pods: c.pods})
			st := v.status
			exit := "none"
			if st.ExitCode != nil {
				exit = fmt.Sprint(*st.ExitCode)
			}
			if st.State != c.state || exit != c.exit || !strings.Contains(st.Message, c.message) || v.stop != c.stop {
				t.Errorf("decide = %s exit %s %q stop %q; want %s exit %s %q stop %q", st.State, exit, st.Message, v.stop, c.state, c.exit, c.message, c.stop)
			}
			if c.end != 0 && st.EndTime.Unix() != c.end {
				t.Errorf("end = %v, want %v", st.EndTime, time.Unix(c.end, 0))
			}
			if (v.pod != nil) != c.withLogs {
				t.Errorf("logs from pod: %v, want %v", v.pod != nil, c.withLogs)
			}
		})
	}
}

// Status of an ended job copies the pod's log (client-go's fake answers "fake logs").
func TestStatusCopiesLogsAndJobVanishes(t *testing.T) {
	e, cs, data := fakeExecutor(t, nil)
	ctx := context.Background()
	job := fakeJob(t, data, "ended")
	h, j := submitted(t, e, cs, job)
	j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobComplete, "")}
	if _, err := cs.BatchV1().Jobs("runs").UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := pod(corev1.PodSucceeded, terminated(0, "Completed"))
	p.Name, p.Namespace, p.Labels = "ended-abcde", "runs", map[string]string{LabelManagedBy: ManagedByEnclave, batchv1.ControllerUidLabel: string(j.UID)}
	if _, err := cs.CoreV1().Pods("runs").Create(ctx, &p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := e.Status(ctx, h)
	if err != nil || st.State != wes.JobSucceeded {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if b, err := os.ReadFile(job.Stdout); err != nil || string(b) != "fake logs" {
		t.Errorf("stdout = %q, %v; want the pod log", b, err)
	}
	if b, err := os.ReadFile(job.Stderr); err != nil || len(b) != 0 {
		t.Errorf("stderr = %q, %v; want an empty file", b, err)
	}
	if sts, err := e.StatusBatch(ctx, []wes.Handle{h, h}); err != nil || len(sts) != 2 || sts[1].State != wes.JobSucceeded {
		t.Errorf("StatusBatch = %+v, %v", sts, err)
	}
	if err := e.Cancel(ctx, h); err != nil {
		t.Errorf("Cancel of an ended job: %v", err)
	}
	if err := cs.BatchV1().Jobs("runs").Delete(ctx, j.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, err := e.Status(ctx, h); err != nil || st.State != wes.JobLost || st.Message != lostMessage {
		t.Errorf("Status after the Job vanished = %+v, %v; want lost: %q", st, err, lostMessage)
	}
	if err := e.Cancel(ctx, h); err != nil {
		t.Errorf("Cancel of a vanished job: %v", err)
	}
}

func TestCancelMarksAndSuspends(t *testing.T) {
	e, cs, data := fakeExecutor(t, nil)
	ctx := context.Background()
	h, _ := submitted(t, e, cs, fakeJob(t, data, "to-cancel"))
	if err := e.Cancel(ctx, h); err != nil {
		t.Fatal(err)
	}
	j, err := cs.BatchV1().Jobs("runs").Get(ctx, jobName("to-cancel"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Annotations[AnnotationStopped] != stopCanceled || j.Spec.Suspend == nil || !*j.Spec.Suspend {
		t.Fatalf("after Cancel: annotations %v, suspend %v", j.Annotations, j.Spec.Suspend)
	}
	if st, err := e.Status(ctx, h); err != nil || st.State != wes.JobQueued || st.Message != "stopping" {
		t.Errorf("Status before the job controller saw the suspension = %+v, %v; want queued, stopping", st, err)
	}
	if err := e.Cleanup(ctx, h); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("Cleanup while stopping = %v, want %s", err, wes.ECONFLICT)
	}
	// What the job controller does next (no pod to delete: none was created).
	j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuspended, "JobSuspended")}
	if _, err := cs.BatchV1().Jobs("runs").UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, err := e.Status(ctx, h); err != nil || st.State != wes.JobCanceled || st.EndTime.IsZero() {
		t.Errorf("Status after Cancel (no pod) = %+v, %v; want canceled with an end time", st, err)
	}
	if err := e.Cleanup(ctx, h); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.Status(ctx, h); st.State != wes.JobLost {
		t.Errorf("Status after Cleanup = %+v, want lost", st)
	}
}

func TestBadHandles(t *testing.T) {
	e, cs, data := fakeExecutor(t, nil)
	h, _ := submitted(t, e, cs, fakeJob(t, data, "handle"))
	other, _, _ := fakeExecutor(t, func(c *Config) { c.Namespace = "elsewhere" })
	if _, err := other.Status(context.Background(), h); !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), "namespace") {
		t.Errorf("Status from another namespace's executor = %v, want %s naming the namespace", err, wes.EINVALID)
	}
	forged := h
	forged.Data = []byte(strings.Replace(string(h.Data), `"name":"enclave-handle"`, `"name":"kube-dns"`, 1))
	if _, err := e.Status(context.Background(), forged); !wes.IsCode(err, wes.EINVALID) {
		t.Errorf("Status of a handle naming a Job not derived from its run id = %v, want %s", err, wes.EINVALID)
	}
}

// An API server that cannot be reached is EUNAVAILABLE for every call.
func TestUnreachableAPIServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://`+addr+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: "x"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Kubeconfig: kc, Namespace: "runs", Image: "i", RunAsUser: 1, RunAsGroup: 1, Data: Volume{MountPath: dir, HostPath: dir}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	job := &wes.Job{ID: "down", Argv: []string{"true"}, WorkDir: work, Stdout: filepath.Join(dir, "o"), Stderr: filepath.Join(dir, "e")}
	_, err = e.Submit(ctx, job)
	check := func(what string, err error) {
		t.Helper()
		if !wes.IsCode(err, wes.EUNAVAILABLE) {
			t.Errorf("%s = %v, want %s", what, err, wes.EUNAVAILABLE)
		}
	}
	check("Submit", err)
	h, _ := encodeHandle(handleData{Namespace: "runs", Name: jobName("down"), UID: "u", RunID: "down", Stdout: job.Stdout, Stderr: job.Stderr})
	_, err = e.Status(ctx, h)
	check("Status", err)
	_, err = e.StatusBatch(ctx, []wes.Handle{h})
	check("StatusBatch", err)
	check("Cancel", e.Cancel(ctx, h))
	check("Cleanup", e.Cleanup(ctx, h))
	check("Ping", e.Ping(ctx))
}
