package testutil

import (
	"bytes"
	"os"
	"strings"
)

// CleanEnv is the test's environment without any ENCLAVE_* variable, so neither the
// developer's settings nor the ENCLAVE_TEST_* addresses reach a process under test.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ENCLAVE_") {
			env = append(env, kv)
		}
	}
	return env
}

// TailFile returns at most the last n bytes of the file at path, from a line start: a
// process's log for a failure message.
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
		return "...\n" + string(b)
	}
	return string(b)
}
