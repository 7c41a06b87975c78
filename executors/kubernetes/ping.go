package kubernetes

import "github.com/spe4hd/enclave/pkg/wes"

// Ping (errors.go) lists one Job of the namespace: readiness probes use it too.
var _ wes.Pinger = (*Executor)(nil)
