// Package enginekit holds what the engine adapters share: the work-dir files Enclave
// writes for an engine (params file, input manifest), the checks of input paths in
// workflow_params, the listing of files a run created, the location of the engine's logs
// and version discovery.
package enginekit
