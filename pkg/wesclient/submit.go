package wesclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
)

// RunRequest is a RunWorkflow request (POST /runs). For a run of a catalogue workflow
// of Enclave's sealed zone, WorkflowURL is the workflow's id and there are no attachments.
type RunRequest struct {
	WorkflowURL           string // the main workflow file among the attachments, or a catalogue id
	WorkflowType          string // e.g. SMK, CWL, NFL; a catalogue run may leave it out
	WorkflowTypeVersion   string
	WorkflowEngine        string // "": the server's choice
	WorkflowEngineVersion string
	// WorkflowParams are the workflow's inputs; nil sends none.
	WorkflowParams           map[string]any
	WorkflowEngineParameters map[string]string
	Tags                     map[string]string
	Attachments              []Attachment
}

// Attachment is one workflow_attachment part: a file named by its path in the run.
type Attachment struct {
	Name string // relative and "/"-separated; sub-directories are kept
	Path string // read from this file when the request is sent, or, when "",
	Data []byte // these bytes
}

// Field is one text part of the request.
type Field struct{ Name, Value string }

// Fields returns the request's text parts in the order they are sent: exactly what the
// server receives besides the attachments (for a dry run, say).
func (r RunRequest) Fields() ([]Field, error) {
	var fs []Field
	add := func(name, value string) {
		if value != "" {
			fs = append(fs, Field{name, value})
		}
	}
	add("workflow_type", r.WorkflowType)
	add("workflow_type_version", r.WorkflowTypeVersion)
	add("workflow_engine", r.WorkflowEngine)
	add("workflow_engine_version", r.WorkflowEngineVersion)
	for _, j := range []struct {
		name string
		v    any
		set  bool
	}{
		{"workflow_params", r.WorkflowParams, r.WorkflowParams != nil},
		{"tags", r.Tags, len(r.Tags) > 0},
		{"workflow_engine_parameters", r.WorkflowEngineParameters, len(r.WorkflowEngineParameters) > 0},
	} {
		if !j.set {
			continue
		}
		b, err := json.Marshal(j.v)
		if err != nil {
			return nil, err
		}
		add(j.name, string(b))
	}
	add("workflow_url", r.WorkflowURL)
	return fs, nil
}

// Encode writes the request as multipart/form-data to w and returns its content type:
// the text fields, then one workflow_attachment part per attachment.
func (r RunRequest) Encode(w io.Writer) (string, error) {
	mw := multipart.NewWriter(w)
	return mw.FormDataContentType(), r.write(mw)
}

func (r RunRequest) write(mw *multipart.Writer) error {
	fs, err := r.Fields()
	if err != nil {
		return err
	}
	for _, f := range fs {
		if err := mw.WriteField(f.Name, f.Value); err != nil {
			return err
		}
	}
	for _, a := range r.Attachments {
		if err := a.write(mw); err != nil {
			return err
		}
	}
	return mw.Close()
}

func (a Attachment) write(mw *multipart.Writer) error {
	w, err := mw.CreateFormFile("workflow_attachment", a.Name)
	if err != nil {
		return err
	}
	if a.Path == "" {
		_, err = w.Write(a.Data)
		return err
	}
	f, err := os.Open(a.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Submit sends r and returns the new run's id. A non-empty idempotencyKey goes along as
// the Idempotency-Key header: a retry with the same key gets the first run's id back and
// never makes a second run. The body is streamed, so large attachments are never all in
// memory.
func (c *Client) Submit(ctx context.Context, r RunRequest, idempotencyKey string) (string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(r.write(mw))
	}()
	v, err := decode[struct {
		RunID string `json:"run_id"`
	}](c.api.RunWorkflowWithBody(ctx, mw.FormDataContentType(), pr, func(_ context.Context, req *http.Request) error {
		if idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", idempotencyKey)
		}
		return nil
	}))
	_ = pr.Close() // stops the writer if the server answered before reading everything
	<-done
	if err == nil && v.RunID == "" {
		err = errors.New("server answered without a run_id")
	}
	return v.RunID, err
}
