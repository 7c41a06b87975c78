// Package browser is Enclave's browser test suite: it starts a whole Enclave (`enclave
// server`, built once) with the example catalogue and real Snakemake and cwltool — with
// authentication off as `make run` has it, or against a real Dex, Redis and MinIO — and runs
// the Node specs beside this file (plain ESM; playwright-core driving Debian's Chromium
// headless, axe-core checking every page) against it. scripts/browser.sh installs the pinned
// npm packages; a spec's output is the test's failure message. Screenshots of every page go
// to $ENCLAVE_TEST_ARTIFACTS/browser, or test/browser/screenshots (ignored by git).
package browser
