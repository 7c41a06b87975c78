// Package compat proves that Enclave is wire-compatible with the official GA4GH WES 1.1.0
// OpenAPI document: its tests drive a real Enclave (real Redis, real Snakemake and
// cwltool) and check every request they send and every response they get against that
// document, not against Enclave's own openapi/wes.yaml.
package compat
