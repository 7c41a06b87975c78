package builtin_test

import (
	"slices"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines/builtin"
	"github.com/spe4hd/enclave/pkg/engines/nextflow"
)

// Every workflow type Enclave runs has its engine, and the configuration reaches it.
func TestEngines(t *testing.T) {
	r := builtin.Engines(builtin.Config{Nextflow: nextflow.Config{Versions: []string{"25.04.0"}}}, nil)
	var types []string
	for _, e := range r.All() {
		types = append(types, e.WorkflowType())
	}
	if want := []string{"SMK", "CWL", "NFL"}; !slices.Equal(types, want) {
		t.Errorf("workflow types %v, want %v", types, want)
	}
	if e, ok := r.ByName(nextflow.Name); !ok || !slices.Equal(e.Versions(), []string{"25.04.0"}) {
		t.Errorf("nextflow versions = %v, want the configured [25.04.0]", e.Versions())
	}
}
