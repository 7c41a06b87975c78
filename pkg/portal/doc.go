// Package portal is Enclave's web portal: server-rendered pages for researchers, data
// controllers and administrators over the run service (pkg/runs), the second face beside
// the HTTP API. Every page calls the same runs.Service operations the API does, with the
// caller's principal from the portal's Sessions; authorization, policy, validation and
// audit stay in the service. Templates and assets are embedded; the core flows work with
// JavaScript off, and the little script there is (live run state) lives in a static file
// under a Content-Security-Policy that forbids inline script and style.
package portal
