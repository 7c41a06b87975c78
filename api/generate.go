// Package api is generated from openapi/wes.yaml by oapi-codegen: the WES models, the gin
// strict-server interface, a client and the embedded spec. Regenerate with `make generate`.
package api

//go:generate go tool oapi-codegen -config cfg.yaml ../openapi/wes.yaml
