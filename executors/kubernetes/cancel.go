package kubernetes

import (
	"context"
	"encoding/json"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Cancel marks the run's Job canceled and suspends it, in one patch: the job controller
// then deletes the pod gracefully (SIGTERM, SIGKILL after Config.Grace) and starts no
// other. The Job itself stays until Cleanup, so every instance reads the mark and
// reports canceled once the pod has stopped. Cancelling an ended, canceled or vanished
// job is a no-op.
func (e *Executor) Cancel(ctx context.Context, h wes.Handle) error {
	d, obs, err := e.observeHandle(ctx, h)
	if err != nil {
		return err
	}
	if obs.job == nil || obs.job.Annotations[AnnotationStopped] != "" || decide(obs).status.State.Ended() {
		return nil
	}
	return e.stop(ctx, d, stopCanceled)
}

// stop records reason on the Job and suspends it. The patch carries the Job's UID, which
// is immutable: a later Job of the same name makes it fail instead of stopping that one.
func (e *Executor) stop(ctx context.Context, d handleData, reason string) error {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{
			"uid": d.UID,
			"annotations": map[string]string{
				AnnotationStopped:   reason,
				AnnotationStoppedAt: time.Now().UTC().Format(time.RFC3339),
			},
		},
		"spec": map[string]any{"suspend": true},
	})
	if err != nil {
		return wes.Internal(err, "could not encode the stop patch")
	}
	_, err = e.cs.BatchV1().Jobs(d.Namespace).Patch(ctx, d.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "enclave"})
	switch {
	case apierrors.IsNotFound(err), apierrors.IsInvalid(err), apierrors.IsConflict(err):
		return nil // gone, or replaced by another Job of the same name: nothing of ours runs
	case err != nil:
		return e.apiError(err, "stop the run's Job")
	}
	e.log.Info("job stopped", "run_id", d.RunID, "reason", reason)
	return nil
}

// Cleanup deletes the Job of an ended run and, in the background, its pods (their logs
// were copied when Status saw the end). ECONFLICT while the job runs.
func (e *Executor) Cleanup(ctx context.Context, h wes.Handle) error {
	d, obs, err := e.observeHandle(ctx, h)
	if err != nil {
		return err
	}
	if obs.job == nil {
		return nil
	}
	st, err := e.resolve(ctx, d, obs)
	if err != nil {
		return err
	}
	if !st.State.Ended() {
		return wes.Errorf(wes.ECONFLICT, "the job is still %s; cancel it before cleaning up", st.State)
	}
	uid := obs.job.UID
	err = e.cs.BatchV1().Jobs(d.Namespace).Delete(ctx, d.Name, metav1.DeleteOptions{
		PropagationPolicy: new(metav1.DeletePropagationBackground),
		Preconditions:     &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return e.apiError(err, "delete the run's Job")
	}
	e.log.Info("job deleted", "run_id", d.RunID)
	return nil
}
