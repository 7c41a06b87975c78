package docker

import (
	"context"

	"github.com/moby/moby/client"

	"github.com/spe4hd/enclave/pkg/wes"
)

var _ wes.Pinger = (*Executor)(nil)

// Ping checks that the engine answers (GET /_ping), for readiness probes.
func (e *Executor) Ping(ctx context.Context) error {
	if _, err := e.cli.Ping(ctx, client.PingOptions{}); err != nil {
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the Docker engine cannot be reached", Err: err}
	}
	return nil
}
