// Package e2e is Enclave's end-to-end test suite. It builds the enclave binary once and
// drives real `enclave server` and `enclave worker` processes, configured only through
// their environment, over the WES HTTP API and through the `enclave run` CLI, against a
// real Redis, Snakemake and cwltool. Processes are killed with SIGKILL mid-run to check
// that no run is lost or run twice. The tests live in _test.go files; this file only
// gives the package its documentation. A failing test prints the log of every process it
// started; E2E_SHOW_LOGS=1 prints them for passing tests too.
package e2e
