package kubernetes

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/spe4hd/enclave/pkg/wes"
)

// copyLogs writes the ended pod's log into job.Stdout (and, with SplitLogStreams, its
// stderr into job.Stderr; else job.Stderr is created empty), unless the files are
// already newer than the end. A log the cluster no longer has (the pod or its node is
// gone) is logged and skipped: the run's end must not wait for it.
func (e *Executor) copyLogs(ctx context.Context, d handleData, pod *corev1.Pod, end time.Time) error {
	type target struct {
		path   string
		stream string // PodLogOptions.Stream; "" for the one combined stream
		empty  bool   // no stream: an empty file
	}
	targets := []target{{path: d.Stdout}, {path: d.Stderr, empty: true}}
	if e.cfg.SplitLogStreams {
		targets = []target{{path: d.Stdout, stream: corev1.LogStreamStdout}, {path: d.Stderr, stream: corev1.LogStreamStderr}}
	}
	for _, t := range targets {
		if fresh(t.path, end) || t.empty && exists(t.path) {
			continue
		}
		var src io.ReadCloser = io.NopCloser(strings.NewReader(""))
		if !t.empty {
			rc, err := e.podLogs(ctx, pod.Name, t.stream)
			switch {
			case wes.IsCode(err, wes.EUNAVAILABLE):
				return err
			case apierrors.IsNotFound(err): // errors.As: the API status inside the *wes.Error
				// The kubelet has no log for the container: there will be none.
				e.log.Warn("the job's log is not available from the cluster; leaving an empty file", "run_id", d.RunID, "pod", pod.Name, "err", err)
			case err != nil:
				e.log.Warn("could not copy the job's logs; will retry", "run_id", d.RunID, "pod", pod.Name, "err", err)
				return nil
			default:
				src = rc
			}
		}
		err := writeAtomic(t.path, src)
		_ = src.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// podLogs opens the log of the job container of a pod (the API server proxies the
// kubelet's /containerLogs).
func (e *Executor) podLogs(ctx context.Context, pod, stream string) (io.ReadCloser, error) {
	opts := &corev1.PodLogOptions{Container: containerName}
	if stream != "" {
		opts.Stream = &stream
	}
	rc, err := e.cs.CoreV1().Pods(e.cfg.Namespace).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return nil, e.apiError(err, "read the job's logs")
	}
	return rc, nil
}

// Logs streams the job's log from the cluster as far as it has got: a live view while
// the job runs. Without SplitLogStreams, "stdout" is the container's one stream (stdout
// and stderr interleaved) and "stderr" is empty.
func (e *Executor) Logs(ctx context.Context, h wes.Handle, stream string) (io.ReadCloser, error) {
	d, err := e.decodeHandle(h)
	if err != nil {
		return nil, err
	}
	var want string
	switch stream {
	case "stdout":
		if e.cfg.SplitLogStreams {
			want = corev1.LogStreamStdout
		}
	case "stderr":
		if !e.cfg.SplitLogStreams {
			return io.NopCloser(strings.NewReader("")), nil
		}
		want = corev1.LogStreamStderr
	default:
		return nil, wes.Errorf(wes.EINVALID, "log stream %q: want stdout or stderr", stream)
	}
	pods, err := e.cs.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{batchv1.ControllerUidLabel: d.UID}).String(),
	})
	if err != nil {
		return nil, e.apiError(err, "list the run's pods")
	}
	pod := newestPod(pods.Items)
	if pod == nil || containerOf(pod) == nil {
		return nil, wes.Errorf(wes.ENOTFOUND, "the job has no log yet: its container has not started")
	}
	rc, err := e.podLogs(ctx, pod.Name, want)
	if apierrors.IsNotFound(err) || apierrors.IsBadRequest(err) {
		return nil, wes.Errorf(wes.ENOTFOUND, "the job's log is not available from the cluster")
	}
	return rc, err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func fresh(path string, end time.Time) bool {
	fi, err := os.Stat(path)
	return err == nil && !end.IsZero() && fi.ModTime().After(end)
}

// writeAtomic writes src to path through a temporary file beside it, so a reader never
// sees half a log and a crash leaves the old file.
func writeAtomic(path string, src io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return wes.Internal(err, "could not create the job's log directory")
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return wes.Internal(err, "could not write the job's logs")
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, src); err != nil {
		_ = f.Close()
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the job's logs could not be read from the cluster; try again later", Err: err}
	}
	if err := f.Close(); err != nil {
		return wes.Internal(err, "could not write the job's logs")
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return wes.Internal(err, "could not write the job's logs")
	}
	return nil
}

var (
	_ wes.Executor      = (*Executor)(nil)
	_ wes.StatusBatcher = (*Executor)(nil)
	_ wes.Cleaner       = (*Executor)(nil)
	_ wes.LogReader     = (*Executor)(nil)
)
