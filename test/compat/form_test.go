package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// clientStyle is how a client lays out the parts of a RunWorkflow form.
type clientStyle int

const (
	// specClient writes what a client generated from the official document writes:
	// each text field (JSON ones as a JSON string) as a part with only a name, each
	// workflow_attachment with its filename and Content-Type application/octet-stream.
	specClient clientStyle = iota
	// wesServiceClient writes what the Python wes-service client (wes_client.util, and
	// WESkit's users of python-requests) send: requests.post(files=[(name, value), ...])
	// gives every part a filename (a text field's is its own name) and no part a
	// Content-Type, JSON fields included.
	wesServiceClient
)

// formPart is one field of a RunWorkflow form; filename is set for attachments.
type formPart struct {
	name, filename, value string
}

// form is a RunWorkflow request body, its parts in the order they are sent.
type form struct {
	style clientStyle
	parts []formPart
}

func newForm(style clientStyle) *form { return &form{style: style} }

// field adds a text field.
func (f *form) field(name, value string) *form {
	f.parts = append(f.parts, formPart{name: name, value: value})
	return f
}

// jsonField adds a field holding v as a JSON string, as the official form defines
// workflow_params, tags and workflow_engine_parameters.
func (f *form) jsonField(t *testing.T, name string, v any) *form {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return f.field(name, string(b))
}

// attach adds a workflow_attachment part.
func (f *form) attach(filename, content string) *form {
	f.parts = append(f.parts, formPart{name: "workflow_attachment", filename: filename, value: content})
	return f
}

// encode returns the multipart body and its Content-Type. Every part header is written
// explicitly, so each part carries exactly the headers the client style sends.
func (f *form) encode(t *testing.T) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range f.parts {
		h := textproto.MIMEHeader{}
		filename := p.filename
		if f.style == wesServiceClient && filename == "" {
			filename = p.name // requests: fn = guess_filename(v) or k
		}
		cd := fmt.Sprintf(`form-data; name="%s"`, escapeQuotes(p.name))
		if filename != "" {
			cd += fmt.Sprintf(`; filename="%s"`, escapeQuotes(filename))
		}
		h.Set("Content-Disposition", cd)
		if f.style == specClient && p.filename != "" {
			h.Set("Content-Type", "application/octet-stream")
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write([]byte(p.value)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }

// example reads a file of the repository's examples/ directory.
func example(t *testing.T, path ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{repoRoot(t), "examples"}, path...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decodeJSON parses a JSON object read from a file, failing the test if it is not one.
func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, s)
	}
	return m
}
