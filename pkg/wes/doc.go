// Package wes holds Enclave's domain: runs and their states, requests, jobs and executor
// handles, principals, errors, and the interfaces that adapters implement. It imports
// nothing but the standard library, so every other package can depend on it.
package wes
