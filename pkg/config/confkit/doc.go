// Package confkit is what pkg/config shares with the packages that own a section of the
// configuration file (each executor's executor.<name>): sizes, problems reported by key,
// and the environment the rest of the configuration gives a section's factory. It
// imports nothing of Enclave's, so that the executor packages can describe their own
// settings without importing pkg/config, which imports them.
package confkit
