package wesclient_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wesclient"
)

func TestNewChecksTheURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ url, base, err string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/ga4gh/wes/v1", ""},
		{" https://wes.example.org/ ", "https://wes.example.org/ga4gh/wes/v1", ""},
		{"http://h/api/wes/", "http://h/api/wes", ""},
		{"127.0.0.1:8080", "", "not an http(s) URL"},
		{"ftp://h", "", "not an http(s) URL"},
		{"http://user:secret@h", "", "user name or password"},
		{"http://h/?x=1", "", "query or fragment"},
	} {
		c, err := wesclient.New(tt.url)
		switch {
		case tt.err == "" && (err != nil || c.Base().String() != tt.base):
			t.Errorf("New(%q): base %v, %v; want %s", tt.url, c, err, tt.base)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("New(%q): %v; want an error about %q", tt.url, err, tt.err)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("New(%q): the error %q shows the password", tt.url, err)
		}
	}
}

// The form fields are sent in one fixed order, JSON-encoded where the API takes JSON,
// and left out when empty; the dry run of the CLI prints exactly these.
func TestRunRequestFields(t *testing.T) {
	t.Parallel()
	r := wesclient.RunRequest{
		WorkflowURL: "main.cwl", WorkflowType: "CWL", WorkflowTypeVersion: "v1.2",
		WorkflowParams:           map[string]any{"b": 1, "a": "x"},
		Tags:                     map[string]string{"k": "v"},
		WorkflowEngineParameters: map[string]string{},
	}
	fs, err := r.Fields()
	if err != nil {
		t.Fatal(err)
	}
	want := []wesclient.Field{{"workflow_type", "CWL"}, {"workflow_type_version", "v1.2"},
		{"workflow_params", `{"a":"x","b":1}`}, {"tags", `{"k":"v"}`}, {"workflow_url", "main.cwl"}}
	if !slices.Equal(fs, want) {
		t.Errorf("fields %q; want %q", fs, want)
	}
	r.WorkflowParams = map[string]any{"f": func() {}}
	if _, err := r.Fields(); err == nil {
		t.Error("params that are not JSON: no error")
	}
}

func TestFollowPagesStopsOnARepeatedToken(t *testing.T) {
	t.Parallel()
	pages := map[string][]int{"": {1, 2}, "a": {3}, "b": {4}}
	next := map[string]string{"": "a", "a": "b", "b": "a"}
	fetch := func(tok string) ([]int, string, error) { return pages[tok], next[tok], nil }
	if got, tok, err := wesclient.FollowPages("", false, "page token", fetch); err != nil || !slices.Equal(got, []int{1, 2}) || tok != "a" {
		t.Errorf("one page: %v %q %v", got, tok, err)
	}
	if _, _, err := wesclient.FollowPages("", true, "cursor", fetch); err == nil || !strings.Contains(err.Error(), `cursor "a" twice`) {
		t.Errorf("a server that repeats a token: %v; want an error naming it", err)
	}
}
