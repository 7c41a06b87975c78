// Package enginekit holds what the engine adapters share: the work-dir files Enclave
// writes for an engine (params file, input manifest), the listing of files a run created,
// the location of the engine's logs and version discovery.
package enginekit
