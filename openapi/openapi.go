// Package openapi holds Enclave's OpenAPI document (wes.yaml), embedded so the server can
// serve it at GET /ga4gh/wes/v1/openapi.yaml exactly as written.
package openapi

import _ "embed"

// WES is the OpenAPI 3 document of Enclave's WES 1.1.0 API and its extensions: the
// contents of openapi/wes.yaml, from which api/ is generated.
//
//go:embed wes.yaml
var WES []byte
