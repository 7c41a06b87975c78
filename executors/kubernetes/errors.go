package kubernetes

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spe4hd/enclave/pkg/wes"
)

// apiError maps a client-go error. An error without an API status (connection refused,
// DNS, TLS, a timeout) and the API server's own "try later" answers are EUNAVAILABLE;
// the rest (forbidden: missing RBAC; not found: a missing namespace) are operator
// problems, internal, so their text reaches the log and not the client.
func (e *Executor) apiError(err error, what string) error {
	var st apierrors.APIStatus
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled),
		!errors.As(err, &st),
		apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsUnexpectedServerError(err):
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the Kubernetes API server cannot be reached; try again later", Err: err}
	}
	return wes.Internal(err, "the kubernetes executor could not %s", what)
}

// Ping checks that the API server answers and that the executor may list Jobs in its
// namespace: the integrator calls it at startup to catch a wrong kubeconfig, namespace
// or RBAC early.
func (e *Executor) Ping(ctx context.Context) error {
	_, err := e.cs.BatchV1().Jobs(e.cfg.Namespace).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return e.apiError(err, "list Jobs in its namespace")
	}
	return nil
}
