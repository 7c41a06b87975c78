// Package httpapi serves Enclave's WES 1.1.0 API over HTTP: it implements the strict
// server interface generated in api/, maps every wes.Error code to one HTTP status and a
// WES ErrorResponse, validates requests against the embedded OpenAPI document, and keeps
// each caller to their own runs.
package httpapi
