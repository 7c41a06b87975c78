package tes

import (
	"context"
	"net/http"

	"github.com/spe4hd/enclave/pkg/wes"
)

var _ wes.Pinger = (*Executor)(nil)

// Ping checks that the TES server answers GET /service-info, for readiness probes.
func (e *Executor) Ping(ctx context.Context) error {
	res, err := e.api.GetServiceInfoWithResponse(ctx)
	if err != nil {
		return unreachable(err)
	}
	if res.StatusCode() != http.StatusOK {
		return httpError(res.StatusCode(), res.Body, "answer service-info")
	}
	return nil
}
