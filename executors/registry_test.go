package executors_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/wes"
)

func TestRegistry(t *testing.T) {
	fk, err := fake.New(fake.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := local.New(local.Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := executors.NewRegistry(lc, fk)
	if got, want := r.Names(), []string{"fake", "local"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for _, name := range r.Names() {
		if !slices.Contains(executors.Builtin, name) {
			t.Errorf("%q is not listed in Builtin", name)
		}
		if e, err := r.Get(name); err != nil || e.Name() != name {
			t.Errorf("Get(%q) = %v, %v", name, e, err)
		}
	}
	_, err = r.Get("slurm")
	if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), `unknown executor "slurm"; configured: fake, local`) {
		t.Errorf("Get(unknown) = %v", err)
	}
	if _, err := executors.NewRegistry().Get("local"); !strings.Contains(wes.ErrorMessage(err), "configured: none") {
		t.Errorf("empty registry: Get = %v", err)
	}
}

func TestRegistryDuplicatePanics(t *testing.T) {
	fk, err := fake.New(fake.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewRegistry with a duplicate name did not panic")
		}
	}()
	executors.NewRegistry(fk, fk)
}
