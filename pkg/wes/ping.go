package wes

import "context"

// Pinger is an optional Executor capability: a cheap check that the backend answers
// (an engine ping, the API server's version, service-info, the SSH connection), for
// readiness probes. It must not start, list or change jobs, and it must respect ctx's
// deadline. EUNAVAILABLE when the backend cannot be reached.
type Pinger interface {
	Ping(ctx context.Context) error
}
