// Package tes is generated from the GA4GH TES 1.1.0 specification (tes.openapi.yaml,
// vendored unchanged) by oapi-codegen: the TES models and an HTTP client, used by the tes
// executor (executors/tes) to run jobs on a Task Execution Service. Regenerate with
// `make generate` or `go generate ./api/...`.
package tes

//go:generate go tool oapi-codegen -config cfg.yaml tes.openapi.yaml
