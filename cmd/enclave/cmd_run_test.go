package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

const secretToken = "tok-7f3a9c-secret"

func TestRunListTableJSONAndPaging(t *testing.T) {
	t.Parallel()
	f := newFakeWES(t, wesclient.BasePath)
	for _, id := range []string{"r1", "r2", "r3"} {
		f.addRun(id, []api.State{api.StateRUNNING})
	}
	env := []string{"ENCLAVE_URL=" + f.url()}

	out, errOut, code := cli(t, env, "run", "list")
	if code != 0 {
		t.Fatalf("run list: exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "RUN ID") || !strings.HasPrefix(lines[1], "r3") || !strings.Contains(lines[1], "project=p1") {
		t.Errorf("run list (first page of 2) printed %q", out)
	}
	if !strings.Contains(errOut, "--page-token 2") {
		t.Errorf("run list did not point to the next page on stderr: %q", errOut)
	}

	out, _, code = cli(t, env, "run", "list", "--all", "-o", "json")
	var all api.RunListResponse
	if code != 0 || json.Unmarshal([]byte(out), &all) != nil || len(all.Runs) != 3 || all.NextPageToken != "" {
		t.Errorf("run list --all -o json: exit %d, %q", code, out)
	}

	out, _, _ = cli(t, env, "run", "list", "--page-size", "1", "--page-token", "1", "-o", "json")
	var one api.RunListResponse
	if json.Unmarshal([]byte(out), &one) != nil || len(one.Runs) != 1 || one.Runs[0].RunId != "r2" || one.NextPageToken != "2" {
		t.Errorf("run list --page-size 1 --page-token 1: %q", out)
	}
}

func TestRunStatusGetCancelTasks(t *testing.T) {
	t.Parallel()
	f := newFakeWES(t, wesclient.BasePath)
	r := f.addRun("r1", []api.State{api.StateRUNNING})
	exit := int32(0)
	r.tasks = []api.TaskLog{{Id: "t1", Name: "align", ExitCode: &exit}, {Id: "t2", Name: "call"}, {Id: "t3", Name: "report\x1b[31m"}}
	r.log.RunLog.SystemLogs = []string{"queued", "started"}
	r.log.Outputs = map[string]any{"report": "out/report.html"}
	env := []string{"ENCLAVE_URL=" + f.url()}

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"status table", []string{"run", "status", "r1"}, []string{"RUN ID", "STATE", "r1", "RUNNING"}},
		{"status json", []string{"run", "status", "r1", "-o", "json"}, []string{`"run_id": "r1"`, `"state": "RUNNING"`}},
		{"get table", []string{"run", "get", "r1"}, []string{"run_id:", "state:", "RUNNING", "workflow:", "SMK 1.0 Snakefile", "tags:", "project=p1", "system logs:", "started", "outputs:", "out/report.html"}},
		{"get json", []string{"run", "get", "r1", "-o", "json"}, []string{`"run_id": "r1"`, `"workflow_url": "Snakefile"`}},
		{"tasks all", []string{"run", "tasks", "r1", "--all"}, []string{"ID", "NAME", "EXIT", "align", "call", "report?[31m"}},
		{"tasks json", []string{"run", "tasks", "r1", "-o", "json", "--page-size", "3"}, []string{`"id": "t3"`, `"next_page_token": ""`}},
		{"cancel", []string{"run", "cancel", "r1"}, []string{"r1\n"}},
		{"cancel json", []string{"run", "cancel", "r1", "-o", "json"}, []string{`"run_id": "r1"`}},
	}
	for _, tt := range tests {
		out, errOut, code := cli(t, env, tt.args...)
		if code != 0 {
			t.Errorf("%s: exit %d, stderr %q", tt.name, code, errOut)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output %q lacks %q", tt.name, out, w)
			}
		}
		if strings.Contains(out, "\x1b") {
			t.Errorf("%s: a terminal escape from the server reached the output", tt.name)
		}
	}
}

func TestRunServerErrors(t *testing.T) {
	t.Parallel()
	f := newFakeWES(t, wesclient.BasePath)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)

	tests := []struct {
		name string
		url  string
		args []string
		want []string
	}{
		{"not found", f.url(), []string{"run", "status", "nope"}, []string{"404 Not Found", "run nope not found"}},
		{"not JSON", proxy.URL, []string{"run", "get", "x"}, []string{"502 Bad Gateway"}},
		{"no server", "http://127.0.0.1:1", []string{"run", "list"}, []string{"127.0.0.1:1"}},
		{"bad url", "ftp://x", []string{"run", "list"}, []string{"--url", "http(s)"}},
		{"credentials in url", "http://u:pw@x", []string{"run", "list"}, []string{"must not carry a user name"}},
		{"bad output", f.url(), []string{"run", "list", "-o", "yaml"}, []string{"--output", "json or table"}},
		{"missing argument", f.url(), []string{"run", "status"}, []string{"accepts 1 arg"}},
	}
	for _, tt := range tests {
		out, errOut, code := cli(t, []string{"ENCLAVE_TOKEN=" + secretToken}, append(tt.args, "--url", tt.url)...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", tt.name, code)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr %q lacks %q", tt.name, errOut, w)
			}
		}
		if strings.Contains(out+errOut, secretToken) {
			t.Errorf("%s: the token was printed", tt.name)
		}
	}
}

func TestRunTokenAndURL(t *testing.T) {
	t.Parallel()
	f := newFakeWES(t, "/custom/wes")
	f.addRun("r1", []api.State{api.StateCOMPLETE})

	// A URL with a path is the API base as it is; the token from the environment is sent.
	if _, errOut, code := cli(t, []string{"ENCLAVE_TOKEN=" + secretToken + "\n"}, "run", "status", "r1", "--url", f.url()+"/custom/wes/"); code != 0 {
		t.Fatalf("status with a custom base path: exit %d, %q", code, errOut)
	}
	// --token wins over the environment.
	if _, errOut, code := cli(t, []string{"ENCLAVE_TOKEN=other", "ENCLAVE_URL=" + f.url() + "/custom/wes"}, "run", "status", "r1", "--token", secretToken); code != 0 {
		t.Fatalf("status with --token: exit %d, %q", code, errOut)
	}
	for i, h := range f.authHeaders() {
		if h != "Bearer "+secretToken {
			t.Errorf("request %d: Authorization %q, want the bearer token", i, h)
		}
	}
	// Without a path, the standard base path is used (and this server has none there).
	if _, errOut, code := cli(t, nil, "run", "status", "r1", "--url", f.url()); code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("status against the wrong base path: exit %d, %q", code, errOut)
	}
	// --help must not show the token from the environment.
	out, _, _ := cli(t, []string{"ENCLAVE_TOKEN=" + secretToken}, "run", "status", "--help")
	if strings.Contains(out, secretToken) || !strings.Contains(out, "$ENCLAVE_TOKEN") {
		t.Errorf("run status --help: %q", out)
	}
}
