package app

import (
	"os"
	"testing"

	"github.com/spe4hd/enclave/executors/local"
)

// The local executor supervises jobs with the running binary (local.SelfShim): here the
// test binary, which must act as the shim when started as one.
func TestMain(m *testing.M) {
	local.MaybeShim()
	os.Exit(m.Run())
}
