// Package httpapi serves Enclave's WES 1.1.0 API over HTTP: it implements the strict
// server interface generated in api/, maps every wes.Error code to one HTTP status and a
// WES ErrorResponse, validates requests against the embedded OpenAPI document, and keeps
// each caller to their own runs.
//
// In the sealed zone (Config.Mode "sealed") a run names a catalogue workflow the caller
// may use, attachments are refused, RunLog.outputs lists only released outputs, the
// engine's output follows each workflow's log policy, and every submission, refusal,
// download, review, cancel and deletion is audited. The extension endpoints (/catalog,
// /runs/{id}/outputs, DELETE /runs/{id}, /audit) are documented in openapi/wes.yaml.
package httpapi
