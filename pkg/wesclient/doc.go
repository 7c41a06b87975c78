// Package wesclient is a client of GA4GH WES 1.1 servers and of Enclave's x-enclave
// extensions (run outputs, their download and review, run deletion, the audit trail and
// the catalogue), built on the generated client in api/. The enclave CLI, the end-to-end
// tests and the bench all talk to servers through it.
//
// An answer other than 2xx comes back as an *Error carrying the HTTP status and the WES
// ErrorResponse, so callers can print it or act on the status. The bearer token comes
// from a TokenSource and goes only to the server's own origin: a link the server hands
// out that points elsewhere never receives it.
package wesclient
