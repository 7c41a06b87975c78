// Package docs holds the operators' guides; this test keeps the generated configuration
// reference in step with the code.
package docs

import (
	"os"
	"testing"

	"github.com/spe4hd/enclave/pkg/config"
)

// TestConfigReferenceCurrent fails when docs/config-reference.yaml differs from what
// `enclave config print-default` prints (config.Reference), e.g. after a key was added,
// renamed, or its default or help changed. Regenerate it with
//
//	go run ./cmd/enclave config print-default > docs/config-reference.yaml
func TestConfigReferenceCurrent(t *testing.T) {
	got, err := os.ReadFile("config-reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := config.Reference(); string(got) != want {
		t.Fatalf("docs/config-reference.yaml is stale: regenerate it with\n" +
			"  go run ./cmd/enclave config print-default > docs/config-reference.yaml")
	}
}
