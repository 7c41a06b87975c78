package k8sagent

import (
	"context"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
)

// sync brings one pod's process in line with the pod, as a kubelet's pod worker does:
// start it once, stop it when the pod is deleted, finish the deletion once it is gone.
func (a *Agent) sync(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := a.pods.Pods(ns).Get(name)
	a.mu.Lock()
	p := a.procs[key]
	a.mu.Unlock()
	if apierrors.IsNotFound(err) || err == nil && p != nil && p.uid != pod.UID {
		if p != nil { // removed at once (force delete, or a new pod of the same name)
			p.kill()
			a.forget(key, p)
		}
		if err != nil {
			return nil
		}
		p = nil
	} else if err != nil {
		return err
	}
	terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	switch {
	case pod.DeletionTimestamp != nil && p != nil:
		grace := time.Duration(30) * time.Second
		if s := pod.DeletionGracePeriodSeconds; s != nil {
			grace = time.Duration(*s) * time.Second
		}
		p.terminate(grace)
		return nil // the waiter reports the end and finishes the deletion
	case pod.DeletionTimestamp != nil:
		if !terminal {
			// The lister may lag behind our own terminal update: only a pending pod fails here.
			if err := a.setStatus(ctx, pod, func(s *corev1.PodStatus) {
				if s.Phase != corev1.PodSucceeded && s.Phase != corev1.PodFailed {
					s.Phase, s.Reason = corev1.PodFailed, "Terminated"
				}
			}); err != nil {
				return err
			}
		}
		return a.finishDeletion(ctx, pod)
	case terminal || p != nil || pod.Status.Phase != corev1.PodPending:
		return nil
	}
	// A pod runs once: the lister can still show it pending after it ended.
	a.mu.Lock()
	ran := a.ran[pod.UID]
	a.ran[pod.UID] = true
	a.mu.Unlock()
	if ran {
		return nil
	}
	return a.start(key, pod)
}

// start runs the pod's container and reports it running, or failed to start. The
// reports go on in the background until the API server takes them: a container is
// started once, so its status must not be lost to an API server that is away.
func (a *Agent) start(key string, pod *corev1.Pod) error {
	c := pod.Spec.Containers[0]
	logFile := logPath(a.cfg.LogDir, pod.UID)
	p, err := startProc(pod, logFile)
	if err != nil {
		a.log.Info("container did not start", "pod", key, "err", err)
		if f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY, 0o600); err == nil { // an empty log, as a kubelet has
			_ = f.Close()
			a.mu.Lock()
			a.logs[pod.Namespace+"/"+pod.Name+"/"+c.Name] = logFile
			a.mu.Unlock()
		}
		now := metav1.Now()
		msg := err.Error()
		a.wg.Go(func() {
			a.report(key, pod, func(s *corev1.PodStatus) {
				s.Phase = corev1.PodFailed
				s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, State: corev1.ContainerState{
					Terminated: &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: msg, StartedAt: now, FinishedAt: now},
				}}}
			})
		})
		return nil
	}
	a.mu.Lock()
	a.procs[key] = p
	a.logs[pod.Namespace+"/"+pod.Name+"/"+c.Name] = logFile
	a.mu.Unlock()
	a.log.Info("container started", "pod", key, "pid", p.cmd.Process.Pid)
	started := metav1.NewTime(p.started)
	a.wg.Go(func() {
		a.report(key, pod, func(s *corev1.PodStatus) {
			s.Phase = corev1.PodRunning
			s.HostIP, s.HostIPs = "127.0.0.1", []corev1.HostIP{{IP: "127.0.0.1"}}
			if s.StartTime == nil {
				s.StartTime = &started
			}
			setConditions(s, corev1.ConditionTrue)
			s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: p.containerID(),
				Ready: true, Started: new(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}}}
		})
		a.wait(key, pod, p)
	})
	return nil
}

// wait reports the container's end, and finishes the pod's deletion if it was deleted.
func (a *Agent) wait(key string, pod *corev1.Pod, p *proc) {
	<-p.done
	c := pod.Spec.Containers[0]
	p.mu.Lock()
	code, finished := p.exitCode, p.finished
	p.mu.Unlock()
	reason, phase := "Completed", corev1.PodSucceeded
	if code != 0 {
		reason, phase = "Error", corev1.PodFailed
	}
	a.log.Info("container ended", "pod", key, "exit_code", code)
	a.report(key, pod, func(s *corev1.PodStatus) {
		s.Phase = phase
		setConditions(s, corev1.ConditionFalse)
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: p.containerID(),
			Started: new(false), State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: code, Reason: reason, StartedAt: metav1.NewTime(p.started), FinishedAt: metav1.NewTime(finished), ContainerID: p.containerID(),
			}}}}
	})
	a.forget(key, p)
	// The pod may have been deleted meanwhile: the next sync finishes the deletion.
	a.queue.Add(key)
}

// report applies edit to the pod's status until the API server has taken it, the pod
// is gone or the agent stops, as a kubelet's status manager keeps retrying: an API
// server that is restarted delays a report, it does not lose it.
func (a *Agent) report(key string, pod *corev1.Pod, edit func(*corev1.PodStatus)) {
	const maxDelay = 2 * time.Second
	delay, warned := 100*time.Millisecond, false
	for {
		ctx, cancel := context.WithTimeout(a.ctx, 30*time.Second)
		err := a.setStatus(ctx, pod, edit)
		cancel()
		if err == nil || apierrors.IsNotFound(err) || a.ctx.Err() != nil {
			if warned && err == nil {
				a.log.Info("pod status reported after retries", "pod", key)
			}
			return
		}
		if !warned {
			a.log.Warn("reporting the pod's status; retrying until the API server takes it", "pod", key, "err", err)
			warned = true
		}
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, maxDelay)
	}
}

func (a *Agent) forget(key string, p *proc) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.procs[key] == p {
		delete(a.procs, key)
	}
}

// setStatus applies edit to the pod's current status through pods/status.
func (a *Agent) setStatus(ctx context.Context, pod *corev1.Pod, edit func(*corev1.PodStatus)) error {
	pods := a.cs.CoreV1().Pods(pod.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pod.UID {
			return nil
		}
		edit(&cur.Status)
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// finishDeletion removes a deleted pod whose container has ended, as the kubelet does.
func (a *Agent) finishDeletion(ctx context.Context, pod *corev1.Pod) error {
	err := a.cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

func setConditions(s *corev1.PodStatus, ready corev1.ConditionStatus) {
	now := metav1.Now()
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		st := ready
		if t == corev1.PodInitialized || t == corev1.PodReadyToStartContainers {
			st = corev1.ConditionTrue
		}
		found := false
		for i := range s.Conditions {
			if s.Conditions[i].Type == t {
				found = true
				if s.Conditions[i].Status != st {
					s.Conditions[i].Status, s.Conditions[i].LastTransitionTime = st, now
				}
			}
		}
		if !found {
			s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: st, LastTransitionTime: now})
		}
	}
}
