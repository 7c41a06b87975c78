package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// Bad requests end to end: each gets the right 4xx status and a WES ErrorResponse whose
// message names what is wrong, no request gets a 5xx, and a refused run leaves nothing
// behind.
func TestErrorResponses(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	d := redisDeployment(t)
	srv := d.startServer()

	good := smkRequest(onceSnakefile, map[string]any{"sleep": 0})
	id := d.api.mustSubmit(good)
	unknown := uuid.Must(uuid.NewV7()).String()

	gets := []struct {
		path    string
		status  int
		mention string // the message must contain this (case-insensitive)
	}{
		{"/runs/" + unknown, 404, unknown},
		{"/runs/" + unknown + "/status", 404, unknown},
		{"/runs/" + unknown + "/tasks", 404, unknown},
		{"/runs/" + unknown + "/logs/stdout", 404, unknown},
		{"/runs/not-a-run-id", 404, "not-a-run-id"},
		{"/runs?page_size=0", 400, "page_size"},
		{"/runs?page_size=-1", 400, "page_size"},
		{"/runs?page_size=abc", 400, "page_size"},
		{"/runs?page_size=100000", 400, "page_size"},
		{"/runs?page_token=not-a-token", 400, "page_token"},
		{"/runs/" + id + "/tasks?page_size=0", 400, "page_size"},
		{"/runs/" + id + "/logs/stdout?offset=-1", 400, "offset"},
		{"/no-such-endpoint", 404, "no such endpoint"},
	}
	for _, c := range gets {
		code, body := d.api.get(c.path)
		checkError(t, "GET "+c.path, code, body, c.status, c.mention)
	}
	code, body, err := d.api.request(http.MethodPost, "/runs/"+unknown+"/cancel", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	checkError(t, "POST cancel of an unknown run", code, body, 404, unknown)

	posts := []struct {
		name    string
		edit    func(r *runRequest)
		mention string
	}{
		{"attachment ../x", func(r *runRequest) { r.files["../x"] = "x" }, "../x"},
		{"absolute attachment", func(r *runRequest) { r.files["/etc/x"] = "x" }, "/etc/x"},
		{"remote workflow_url", func(r *runRequest) {
			r.fields["workflow_url"] = "http://example.org/Snakefile"
			r.files = map[string]string{}
		}, "workflow_url"},
		{"remote workflow_url with attachments", func(r *runRequest) {
			r.fields["workflow_url"] = "https://example.org/Snakefile"
		}, "workflow_url"},
		{"unknown engine parameter", func(r *runRequest) {
			r.fields["workflow_engine_parameters"] = `{"no-such-param": "1"}`
		}, "no-such-param"},
		{"bad engine parameter value", func(r *runRequest) {
			r.fields["workflow_engine_parameters"] = `{"cores": "1000"}`
		}, "cores"},
		{"unknown workflow type", func(r *runRequest) { r.fields["workflow_type"] = "XYZ" }, "XYZ"},
		{"missing workflow_type", func(r *runRequest) { delete(r.fields, "workflow_type") }, "workflow_type"},
		{"workflow_params not JSON", func(r *runRequest) { r.fields["workflow_params"] = "{not json" }, "workflow_params"},
		{"unknown form field", func(r *runRequest) { r.fields["workflow_colour"] = "blue" }, "workflow_colour"},
	}
	base := rawForm(t, good)
	for _, c := range posts {
		r := runRequest{fields: map[string]string{}, files: map[string]string{}}
		for k, v := range base.fields {
			r.fields[k] = v
		}
		for k, v := range base.files {
			r.files[k] = v
		}
		c.edit(&r)
		code, body, err := d.api.postForm(r)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkError(t, "POST /runs with "+c.name, code, body, 400, c.mention)
	}

	// The refused requests created no runs and left no directories.
	list := d.api.listRuns(0, "")
	if len(list.Runs) != 1 || list.Runs[0].RunId != id {
		t.Errorf("runs after the refused requests: %+v; want only %s", list.Runs, id)
	}
	entries, err := os.ReadDir(filepath.Join(d.dataDir, "runs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != id {
		t.Errorf("data_dir/runs holds %v; want only %s", dirNames(entries), id)
	}
	if _, errOut, code := d.cli("", "status", unknown); code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("CLI status of an unknown run: exit %d, stderr %q; want 1 and the 404", code, errOut)
	}
	d.api.waitState(id, runTimeout, api.StateCOMPLETE)

	// Nothing above was an internal error worth logging.
	srv.stop(t)
	if log := testutil.TailFile(srv.logPath, 1<<20); strings.Contains(log, "level=ERROR") {
		t.Errorf("the server logged errors:\n%s", grepLines(log, "level=ERROR"))
	}
}

// checkError requires a WES ErrorResponse with the wanted status whose msg mentions
// mention, and shows no path of the zone.
func checkError(t *testing.T, what string, code int, body []byte, status int, mention string) {
	t.Helper()
	var er api.ErrorResponse
	if err := json.Unmarshal(body, &er); err != nil {
		t.Errorf("%s: %d, body %q is not an ErrorResponse: %v", what, code, body, err)
		return
	}
	switch {
	case code != status || int(er.StatusCode) != status:
		t.Errorf("%s: HTTP %d, status_code %d (%q); want %d", what, code, er.StatusCode, er.Msg, status)
	case !strings.Contains(strings.ToLower(er.Msg), strings.ToLower(mention)):
		t.Errorf("%s: msg %q does not mention %q", what, er.Msg, mention)
	case strings.Contains(er.Msg, os.TempDir()):
		t.Errorf("%s: msg %q shows a server path", what, er.Msg)
	}
}

func dirNames(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
