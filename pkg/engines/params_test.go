package engines_test

import (
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

func paramEngine() *fakeEngine {
	return &fakeEngine{name: "eng", typ: "T", typeVers: []string{"1"}, vers: []string{"1.0", "2.0"},
		params: []wes.EngineParam{
			{Name: "cores", Type: "int", Min: 1, Max: 64, Default: "1"},
			{Name: "anyint", Type: "int"},
			{Name: "keep-going", Type: "bool", Default: "false"},
			{Name: "label", Type: "string"},
			{Name: "mode", Type: "enum", Allowed: []string{"fast", "safe"}, Default: "safe"},
			{Name: "timeout", Type: "duration"},
			{Name: "new-flag", Type: "bool", Versions: []string{"2.0"}},
			{Name: "broken", Type: "float"},
		}}
}

func TestValidateParams(t *testing.T) {
	e := paramEngine()
	tests := []struct {
		name    string
		version string
		params  map[string]string
		wantErr []string
	}{
		{name: "none", version: "1.0"},
		{name: "all valid", version: "1.0", params: map[string]string{
			"cores": "64", "anyint": "-5", "keep-going": "true", "label": "run_1.a:b@c+d=e,f-g",
			"mode": "fast", "timeout": "90m"}},
		{name: "version-specific allowed", version: "2.0", params: map[string]string{"new-flag": "false"}},
		{name: "version-specific refused", version: "1.0", params: map[string]string{"new-flag": "true"},
			wantErr: []string{`"new-flag" is not a parameter of eng 1.0`, "allowed: cores, anyint"}},
		{name: "unknown", version: "1.0", params: map[string]string{"--use-conda": "true"},
			wantErr: []string{`workflow_engine_parameters: "--use-conda" is not a parameter`}},
		{name: "int not a number", version: "1.0", params: map[string]string{"cores": "two"},
			wantErr: []string{"cores must be an integer from 1 to 64"}},
		{name: "int too big", version: "1.0", params: map[string]string{"cores": "65"},
			wantErr: []string{"cores must be an integer from 1 to 64"}},
		{name: "int too small", version: "1.0", params: map[string]string{"cores": "0"},
			wantErr: []string{"from 1 to 64"}},
		{name: "unbounded int not a number", version: "1.0", params: map[string]string{"anyint": "1e3"},
			wantErr: []string{"anyint must be an integer"}},
		{name: "bool", version: "1.0", params: map[string]string{"keep-going": "yes"},
			wantErr: []string{`keep-going must be "true" or "false"`}},
		{name: "string injection", version: "1.0", params: map[string]string{"label": "--foo; rm -rf /"},
			wantErr: []string{"label must be 1 to 128"}},
		{name: "string option", version: "1.0", params: map[string]string{"label": "-x"},
			wantErr: []string{"must not start with -"}},
		{name: "string path", version: "1.0", params: map[string]string{"label": "a/b"},
			wantErr: []string{"label must be"}},
		{name: "string empty", version: "1.0", params: map[string]string{"label": ""},
			wantErr: []string{"label must be"}},
		{name: "string too long", version: "1.0", params: map[string]string{"label": strings.Repeat("a", 129)},
			wantErr: []string{"label must be"}},
		{name: "enum", version: "1.0", params: map[string]string{"mode": "FAST"},
			wantErr: []string{"mode must be one of: fast, safe"}},
		{name: "duration bad", version: "1.0", params: map[string]string{"timeout": "10"},
			wantErr: []string{"timeout must be a positive duration"}},
		{name: "duration negative", version: "1.0", params: map[string]string{"timeout": "-1s"},
			wantErr: []string{"positive duration"}},
		{name: "duration too long", version: "1.0", params: map[string]string{"timeout": "721h"},
			wantErr: []string{"at most 720h"}},
		{name: "unknown declared type", version: "1.0", params: map[string]string{"broken": "1.5"},
			wantErr: []string{"broken cannot be set"}},
		{name: "first error by name is stable", version: "1.0", params: map[string]string{"mode": "x", "cores": "x"},
			wantErr: []string{"cores must be"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := engines.ValidateParams(e, tt.version, tt.params)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ValidateParams: %v", err)
				}
				return
			}
			if !wes.IsCode(err, wes.EINVALID) {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(wes.ErrorMessage(err), s) {
					t.Errorf("message %q lacks %q", wes.ErrorMessage(err), s)
				}
			}
			if strings.Contains(wes.ErrorMessage(err), "rm -rf") {
				t.Errorf("message echoes the bad value: %q", wes.ErrorMessage(err))
			}
		})
	}
}

func TestEffective(t *testing.T) {
	e := paramEngine()
	got := engines.Effective(e, "1.0", map[string]string{"cores": "4", "label": "x"})
	want := map[string]string{"cores": "4", "keep-going": "false", "mode": "safe", "label": "x"}
	if len(got) != len(want) {
		t.Fatalf("Effective = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Effective[%s] = %q, want %q", k, got[k], v)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"7.21.0", "7.9.1", 1},
		{"7.3.0", "7.3.0", 0},
		{"3.1.20230209161050", "3.1.20221008225030", 1},
		{"23.10.1", "24.04.0", -1},
		{"1.0", "1.0.1", -1},
		{"1.0", "1.0rc1", 1},
		{"1.0rc1", "1.0rc2", -1},
		{"v1.2", "v1.10", -1},
		{"1.0", "1.rc", 1},
	}
	for _, tt := range tests {
		if got := engines.CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := engines.CompareVersions(tt.b, tt.a); got != -tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
	if got := engines.Newest([]string{"7.3.0", "7.21.0", "7.9.1"}); got != "7.21.0" {
		t.Errorf("Newest = %s", got)
	}
	if got := engines.Newest(nil); got != "" {
		t.Errorf("Newest(nil) = %q", got)
	}
}
