package engines_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// fakeEngine is a table-driven stand-in: the registry only reads an engine's metadata.
type fakeEngine struct {
	name, typ string
	typeVers  []string
	vers      []string
	params    []wes.EngineParam
	discover  func() ([]string, error)
}

func (f *fakeEngine) Name() string                  { return f.name }
func (f *fakeEngine) WorkflowType() string          { return f.typ }
func (f *fakeEngine) TypeVersions() []string        { return f.typeVers }
func (f *fakeEngine) Versions() []string            { return f.vers }
func (f *fakeEngine) Parameters() []wes.EngineParam { return f.params }
func (f *fakeEngine) Prepare(context.Context, wes.PrepareInput) (*wes.Job, error) {
	return nil, errors.New("not used")
}
func (f *fakeEngine) Tasks(context.Context, string) ([]wes.Task, error) { return nil, nil }
func (f *fakeEngine) Outputs(context.Context, string) (map[string]any, error) {
	return nil, nil
}

type discoveringEngine struct{ *fakeEngine }

func (d discoveringEngine) Discover(context.Context) ([]string, error) {
	vs, err := d.discover()
	if err == nil {
		d.vers = vs
	}
	return vs, err
}

func testRegistry() *engines.Registry {
	return engines.NewRegistry(
		&fakeEngine{name: "snakemake", typ: "SMK", typeVers: []string{"1.0"}, vers: []string{"7.3.0", "7.21.0", "7.9.1"}},
		&fakeEngine{name: "cwltool", typ: "CWL", typeVers: []string{"v1.0", "v1.1", "v1.2"}, vers: []string{"3.1.20230209161050"}},
		&fakeEngine{name: "toil", typ: "CWL", typeVers: []string{"v1.2"}, vers: []string{"5.12.0"}},
		&fakeEngine{name: "nextflow", typ: "NFL", typeVers: []string{"DSL2"}},
		&fakeEngine{name: "snakemake", typ: "SMK", typeVers: []string{"9"}}, // duplicate name: ignored
		nil,
	)
}

func TestRegistryAllAndByName(t *testing.T) {
	r := testRegistry()
	if got := len(r.All()); got != 4 {
		t.Fatalf("All() has %d engines, want 4 (nil and duplicate dropped)", got)
	}
	e, ok := r.ByName("snakemake")
	if !ok || e.TypeVersions()[0] != "1.0" {
		t.Fatalf("ByName(snakemake) = %v, %v; want the first registered", e, ok)
	}
	if _, ok := r.ByName("galaxy"); ok {
		t.Fatal("ByName(galaxy) found an engine")
	}
	all := r.All()
	all[0] = nil
	if r.All()[0] == nil {
		t.Fatal("All() returned the registry's own slice")
	}
}

func TestResolve(t *testing.T) {
	r := testRegistry()
	tests := []struct {
		name                        string
		typ, typeVer, engine, engVe string
		wantEngine, wantVersion     string
		wantErr                     []string // substrings of the EINVALID message
	}{
		{name: "defaults to engine and newest version", typ: "SMK", typeVer: "1.0",
			wantEngine: "snakemake", wantVersion: "7.21.0"},
		{name: "explicit version", typ: "SMK", typeVer: "1.0", engine: "snakemake", engVe: "7.3.0",
			wantEngine: "snakemake", wantVersion: "7.3.0"},
		{name: "first engine for the type", typ: "CWL", typeVer: "v1.1",
			wantEngine: "cwltool", wantVersion: "3.1.20230209161050"},
		{name: "second engine by name", typ: "CWL", typeVer: "v1.2", engine: "toil",
			wantEngine: "toil", wantVersion: "5.12.0"},
		{name: "missing type", wantErr: []string{"workflow_type is required", "SMK (1.0)", "CWL (v1.0, v1.1, v1.2)", "NFL (DSL2)"}},
		{name: "unknown type", typ: "WDL", typeVer: "1.0", wantErr: []string{`workflow_type "WDL" is not supported`, "SMK (1.0)"}},
		{name: "type is case sensitive", typ: "smk", typeVer: "1.0", wantErr: []string{`"smk" is not supported`}},
		{name: "missing type version", typ: "CWL", wantErr: []string{"workflow_type_version is required for CWL", "v1.0, v1.1, v1.2"}},
		{name: "bad type version", typ: "CWL", typeVer: "v2.0", wantErr: []string{`workflow_type_version "v2.0" is not supported for CWL`}},
		{name: "type version checked per engine", typ: "CWL", typeVer: "v1.0", engine: "toil", wantErr: []string{`"v1.0" is not supported`, "supported: v1.2"}},
		{name: "engine for other type", typ: "SMK", typeVer: "1.0", engine: "cwltool", wantErr: []string{`workflow_engine "cwltool" cannot run workflow_type SMK`, "supported: snakemake"}},
		{name: "unknown engine version", typ: "SMK", typeVer: "1.0", engVe: "8.0.0", wantErr: []string{`workflow_engine_version "8.0.0" of snakemake is not available`, "7.3.0, 7.21.0, 7.9.1"}},
		{name: "engine without versions", typ: "NFL", typeVer: "DSL2", wantErr: []string{"nextflow has no version available"}},
		{name: "long input is cut", typ: strings.Repeat("x", 500), wantErr: []string{`xxx..." is not supported`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, v, err := r.Resolve(tt.typ, tt.typeVer, tt.engine, tt.engVe)
			if len(tt.wantErr) > 0 {
				if !wes.IsCode(err, wes.EINVALID) {
					t.Fatalf("err = %v, want EINVALID", err)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(wes.ErrorMessage(err), s) {
						t.Errorf("message %q lacks %q", wes.ErrorMessage(err), s)
					}
				}
				if len(wes.ErrorMessage(err)) > 300 {
					t.Errorf("message is %d bytes long", len(wes.ErrorMessage(err)))
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if e.Name() != tt.wantEngine || v != tt.wantVersion {
				t.Fatalf("Resolve = %s %s, want %s %s", e.Name(), v, tt.wantEngine, tt.wantVersion)
			}
		})
	}
}

func TestResolveEmptyRegistry(t *testing.T) {
	_, _, err := engines.NewRegistry().Resolve("SMK", "1.0", "", "")
	if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), "no engine is configured") {
		t.Fatalf("err = %v", err)
	}
}

func TestRegistryDiscover(t *testing.T) {
	ok := &fakeEngine{name: "a", typ: "A", typeVers: []string{"1"},
		discover: func() ([]string, error) { return []string{"1.2.3"}, nil }}
	absent := &fakeEngine{name: "b", typ: "B", typeVers: []string{"1"},
		discover: func() ([]string, error) { return nil, fmt.Errorf("run b: %w", exec.ErrNotFound) }}
	failing := &fakeEngine{name: "c", typ: "C", typeVers: []string{"1"},
		discover: func() ([]string, error) { return nil, errors.New("b --version: signal: killed") }}
	r := engines.NewRegistry(discoveringEngine{ok}, discoveringEngine{absent}, discoveringEngine{failing})
	r.Discover(context.Background(), nil)
	if _, v, err := r.Resolve("A", "1", "", ""); err != nil || v != "1.2.3" {
		t.Fatalf("after discovery Resolve(A) = %q, %v", v, err)
	}
	// Not installed: the client's choice cannot work here (400, naming what can).
	if _, _, err := r.Resolve("B", "1", "", ""); !wes.IsCode(err, wes.EINVALID) ||
		!strings.Contains(wes.ErrorMessage(err), "b is not installed on this server; installed: a 1.2.3 (A)") {
		t.Fatalf("engine not installed: %v", err)
	}
	// Installed but not answering: the server's condition (503), not the client's.
	if _, _, err := r.Resolve("C", "1", "", ""); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Fatalf("engine whose discovery failed: %v", err)
	}
}
