package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/wes"
)

func TestSubmit(t *testing.T) {
	h := newHarness(t)
	id := h.submit("alice",
		field("workflow_type", "TST"),
		field("workflow_type_version", "1.0"),
		field("workflow_url", "./main.tst"),
		field("workflow_params", ` {"n": 3, "big": 12345678901234567890, "in": {"x": [1, 2]}} `),
		field("tags", `{"project": "p1", "who": "me"}`),
		field("workflow_engine", "tester"),
		field("workflow_engine_parameters", `{"cores": "4"}`),
		file("main.tst", "step one\n"),
		file("lib/sub/util.tst", "helper\n"),
		file("data.txt", ""),
	)
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 || u.String() != id {
		t.Fatalf("run id %q is not a canonical UUIDv7 (%v)", id, err)
	}

	r, err := h.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	layout := wes.LayoutFor(h.dataDir, id)
	if r.State != wes.StateQueued || r.Owner != "alice" || r.Executor != DefaultExecutor || r.Engine != "tester" ||
		r.EngineVer != "1.10" || r.WorkDir != layout.WorkDir() {
		t.Errorf("stored run = state %s owner %q executor %q engine %q %q workdir %q", r.State, r.Owner, r.Executor, r.Engine, r.EngineVer, r.WorkDir)
	}
	rq := r.Request
	if rq.WorkflowURL != "main.tst" || rq.WorkflowType != "TST" || rq.WorkflowEngine != "tester" ||
		rq.Tags["project"] != "p1" || rq.WorkflowEngineParameters["cores"] != "4" ||
		!slices.Equal(rq.Attachments, []string{"data.txt", "lib/sub/util.tst", "main.tst"}) {
		t.Errorf("stored request = %+v", rq)
	}
	// Big numbers survive exactly: the params are kept as the client's JSON.
	if string(rq.WorkflowParams) != `{"n":3,"big":12345678901234567890,"in":{"x":[1,2]}}` {
		t.Errorf("workflow_params = %s", rq.WorkflowParams)
	}

	for name, want := range map[string]string{"main.tst": "step one\n", "lib/sub/util.tst": "helper\n", "data.txt": ""} {
		p := filepath.Join(layout.WorkDir(), filepath.FromSlash(name))
		b, err := os.ReadFile(p)
		if err != nil || string(b) != want {
			t.Errorf("attachment %s = %q, %v", name, b, err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("attachment %s mode = %v, %v", name, fi.Mode(), err)
		}
	}
	for _, d := range []string{layout.Root, layout.WorkDir(), filepath.Join(layout.WorkDir(), "lib", "sub")} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o750 {
			t.Errorf("dir %s mode = %v, %v", d, fi.Mode(), err)
		}
	}
	if started, _ := h.disp.calls(); !slices.Equal(started, []string{id}) {
		t.Errorf("dispatcher started %v, want [%s]", started, id)
	}
}

func TestSubmitStartFailureKeepsRunQueued(t *testing.T) {
	h := newHarness(t)
	h.disp.startErr = wes.Errorf(wes.EUNAVAILABLE, "queue down")
	id := h.submit("alice", validRun()...)
	r, err := h.store.Get(context.Background(), id)
	if err != nil || r.State != wes.StateQueued {
		t.Fatalf("run after failed start: %v %v", r, err)
	}
	if !strings.Contains(h.logs.String(), "could not enqueue the start step") {
		t.Errorf("failed start not logged:\n%s", h.logs)
	}
}

// without returns validRun without the named field.
func without(name string, extra ...part) []part {
	var out []part
	for _, p := range validRun() {
		if p.name != name {
			out = append(out, p)
		}
	}
	return append(out, extra...)
}

// withField returns validRun with one field's value replaced.
func withField(name, value string, extra ...part) []part {
	return append(without(name, field(name, value)), extra...)
}

func TestSubmitRefused(t *testing.T) {
	big := strings.Repeat("x", 2000)
	rawCD := func(cd string) part {
		return part{header: textproto.MIMEHeader{"Content-Disposition": {cd}}, body: "x"}
	}
	many := validRun()
	for i := range 20 {
		many = append(many, file("f"+string(rune('a'+i)), "x"))
	}
	manyTags := map[string]string{}
	for i := range 51 {
		manyTags[strings.Repeat("k", i+1)] = "v"
	}
	manyTagsJSON, _ := json.Marshal(manyTags)

	tests := []struct {
		name   string
		parts  []part
		status int
		msg    string
	}{
		{"missing type", without("workflow_type"), 400, "missing required form field(s): workflow_type"},
		{"missing url and version", []part{field("workflow_type", "TST"), field("workflow_type_version", " "), file("main.tst", "x")}, 400, "missing required form field(s): workflow_type_version, workflow_url"},
		{"malformed params", validRun(field("workflow_params", `{"a":`)), 400, "workflow_params is not valid JSON"},
		{"params array", validRun(field("workflow_params", `[1,2]`)), 400, "workflow_params must be a JSON object; got a JSON array"},
		{"params null", validRun(field("workflow_params", `null`)), 400, "workflow_params must be a JSON object"},
		{"params trailing", validRun(field("workflow_params", `{} {}`)), 400, "more text after its JSON object"},
		{"tags not strings", validRun(field("tags", `{"a": 1}`)), 400, "tags must be a JSON object whose values are all strings"},
		{"tags malformed", validRun(field("tags", `{a}`)), 400, "tags is not valid JSON"},
		{"too many tags", validRun(field("tags", string(manyTagsJSON))), 400, "at most 50"},
		{"tag key too long", validRun(field("tags", `{"`+strings.Repeat("k", 129)+`": "v"}`)), 400, "must be 1 to 128 bytes"},
		{"tag value too long", validRun(field("tags", `{"k": "`+big+`"}`)), 400, "longer than 1024 bytes"},
		{"engine params not strings", validRun(field("workflow_engine_parameters", `{"cores": 4}`)), 400, "workflow_engine_parameters must be a JSON object whose values are all strings"},
		{"unknown engine param", validRun(field("workflow_engine_parameters", `{"rm_rf": "yes"}`)), 400, `"rm_rf" is not a parameter`},
		{"bad engine param value", validRun(field("workflow_engine_parameters", `{"cores": "99"}`)), 400, "cores"},
		{"duplicate field", validRun(field("workflow_type", "TST")), 400, "form field workflow_type appears more than once"},
		{"unknown field", validRun(field("workflow_fun", "1")), 400, `unknown form field "workflow_fun"`},
		{"engine version without engine", validRun(field("workflow_engine_version", "1.2")), 400, "workflow_engine_version needs workflow_engine"},
		{"unknown engine", validRun(field("workflow_engine", "nope")), 400, "workflow_engine"},
		{"unknown engine version", validRun(field("workflow_engine", "tester"), field("workflow_engine_version", "9")), 400, "workflow_engine_version"},
		{"unknown type", withField("workflow_type", "WDL"), 400, "workflow_type"},
		{"unknown type version", withField("workflow_type_version", "9.9"), 400, "workflow_type_version"},
		{"absolute name", validRun(file("/etc/passwd", "x")), 400, "absolute path"},
		{"dotdot", validRun(file("../escape", "x")), 400, `".."`},
		{"inner dotdot", validRun(file("a/../../escape", "x")), 400, `".."`},
		{"backslash", validRun(file(`a\..\b`, "x")), 400, "backslash"},
		{"NUL", validRun(rawCD(`form-data; name="workflow_attachment"; filename*=UTF-8''a%00b`)), 400, "control characters"},
		{"newline", validRun(rawCD(`form-data; name="workflow_attachment"; filename*=UTF-8''a%0Ab`)), 400, "control characters"},
		{"empty segment", validRun(file("a//b", "x")), 400, "empty path segment"},
		{"trailing slash", validRun(file("dir/", "x")), 400, "empty path segment"},
		{"dot segment", validRun(file("./a", "x")), 400, `"." path segment`},
		{"duplicate attachment", validRun(file("main.tst", "again")), 400, "sent more than once"},
		{"file and dir", validRun(file("main.tst/x", "x")), 400, "also attached as a file"},
		{"dir and file", append([]part{file("lib/x", "1"), file("lib", "2")}, validRun()...), 400, "also used as a directory"},
		{"attachment without filename", validRun(part{name: "workflow_attachment", body: "x"}), 400, "needs a filename"},
		{"part without name", validRun(rawCD(`form-data; filename="x"`)), 400, "Content-Disposition: form-data header with a name"},
		{"http url", withField("workflow_url", "https://example.org/wf.cwl"), 400, "remote workflow URLs are not supported in this release"},
		{"file url", withField("workflow_url", "file:///etc/wf.cwl"), 400, "remote workflow URLs are not supported in this release"},
		{"scheme-relative url", withField("workflow_url", "//host/wf.cwl"), 400, "remote workflow URLs are not supported"},
		{"absolute path url", withField("workflow_url", "/data/wf.cwl"), 400, "absolute path"},
		{"url not attached", withField("workflow_url", "other.tst"), 400, `does not name an attached file; attached: main.tst`},
		{"no attachments", without("workflow_attachment"), 400, "no files were attached"},
		{"long text field", withField("workflow_type", big+big+big), 400, "longer than 4096 bytes"},
		{"too many parts", many, 413, "more than 20 multipart parts"},
		{"attachment too big", validRun(file("big.bin", strings.Repeat("b", 1025))), 413, `attachment "big.bin" is larger than the limit of 1024 bytes`},
		{"body too big", validRun(field("workflow_params", `{"x":"`+strings.Repeat("b", 70<<10)+`"}`)), 413, "larger than the limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ct, body := form(t, tc.parts...)
			st, b, _ := h.do(http.MethodPost, BasePath+"/runs", "alice", ct, body)
			e := errorBody(t, st, b)
			if st != tc.status || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %d %q, want %d containing %q", st, e.Msg, tc.status, tc.msg)
			}
			if dirs := h.runDirs(); len(dirs) != 0 {
				t.Errorf("refused submission left run directories %v", dirs)
			}
			if started, _ := h.disp.calls(); len(started) != 0 {
				t.Errorf("refused submission was started: %v", started)
			}
			page, err := h.store.List(context.Background(), wes.RunFilter{PageSize: 10})
			if err != nil || len(page.Runs) != 0 {
				t.Errorf("refused submission stored runs: %v %v", page.Runs, err)
			}
		})
	}
}

func TestSubmitNotMultipart(t *testing.T) {
	h := newHarness(t)
	for _, ct := range []string{"", "application/json", "multipart/form-data", "multipart/mixed; boundary=x", "text/plain"} {
		st, b, _ := h.do(http.MethodPost, BasePath+"/runs", "alice", ct, strings.NewReader(`{"workflow_type":"TST"}`))
		e := errorBody(t, st, b)
		if st != http.StatusBadRequest || !strings.Contains(e.Msg, "multipart/form-data") {
			t.Errorf("Content-Type %q: %d %q", ct, st, e.Msg)
		}
	}
	// A truncated body is the client's fault too.
	ct, body := form(t, validRun()...)
	st, b, _ := h.do(http.MethodPost, BasePath+"/runs", "alice", ct, strings.NewReader(body.String()[:body.Len()-20]))
	if e := errorBody(t, st, b); st != http.StatusBadRequest || !strings.Contains(e.Msg, "could not be read") {
		t.Errorf("truncated body: %d %q", st, e.Msg)
	}
	if dirs := h.runDirs(); len(dirs) != 0 {
		t.Errorf("left run directories %v", dirs)
	}
}

func TestSubmitChunkedBodyTooLarge(t *testing.T) {
	ct, body := form(t, validRun(file("a.bin", strings.Repeat("a", 1000)), file("b.bin", strings.Repeat("b", 1000)))...)
	h2 := newHarness(t, func(c *testConfig, _ *testDeps) { c.MaxRequestBytes = 1500 })
	// io.MultiReader hides the length, so the limit is hit while streaming.
	st, b, _ := h2.do(http.MethodPost, BasePath+"/runs", "alice", ct, io.MultiReader(body))
	if e := errorBody(t, st, b); st != http.StatusRequestEntityTooLarge || !strings.Contains(e.Msg, "larger than the limit of 1500 bytes") {
		t.Errorf("chunked body over the limit: %d %q", st, e.Msg)
	}
	if dirs := h2.runDirs(); len(dirs) != 0 {
		t.Errorf("left run directories %v", dirs)
	}
}

func TestSubmitUnauthenticated(t *testing.T) {
	h := newHarness(t)
	ct, body := form(t, validRun()...)
	st, b, hdr := h.do(http.MethodPost, BasePath+"/runs", "", ct, body)
	errorBody(t, st, b)
	if st != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d, WWW-Authenticate %q", st, hdr.Get("WWW-Authenticate"))
	}
	if _, err := os.Stat(filepath.Join(h.dataDir, "runs")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an unauthenticated submission touched the data dir: %v", err)
	}
}
