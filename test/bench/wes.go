package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
)

// Snakefiles the bench submits. The latency one keeps its job RUNNING for a while
// (snakemake's own start-up plus a 2 s sleep) so that RUNNING can be observed.
const (
	quickSnakefile = "rule all:\n    output: \"done.txt\"\n    shell: \"echo {config[msg]} > {output}\"\n"
	sleepSnakefile = "rule all:\n    output: \"done.txt\"\n    shell: \"sleep 2 && echo {config[msg]} > {output}\"\n"
)

// submission is a ready-made POST /runs body: built once, sent many times (each POST
// still makes a new run with its own id and work directory).
type submission struct {
	body        []byte
	contentType string
}

// newSubmission builds a multipart RunWorkflow request: workflow_type SMK 1.0, the
// Snakefile as a workflow_attachment, workflow_url naming it, params and tags.
func newSubmission(snakefile string) (submission, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fields := [][2]string{
		{"workflow_type", "SMK"},
		{"workflow_type_version", "1.0"},
		{"workflow_url", "Snakefile"},
		{"workflow_params", `{"msg": "bench"}`},
		{"workflow_engine_parameters", `{"cores": "1"}`},
		{"tags", `{"bench": "enclave"}`},
	}
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return submission{}, err
		}
	}
	fw, err := w.CreateFormFile("workflow_attachment", "Snakefile")
	if err != nil {
		return submission{}, err
	}
	if _, err := io.WriteString(fw, snakefile); err != nil {
		return submission{}, err
	}
	if err := w.Close(); err != nil {
		return submission{}, err
	}
	return submission{body: buf.Bytes(), contentType: w.FormDataContentType()}, nil
}

func (s submission) request(api string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, api+"/runs", bytes.NewReader(s.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", s.contentType)
	return req, nil
}

// callJSON sends req and decodes a 200 answer into out; anything else is an error that
// carries the status and the start of the body.
func callJSON(ctx context.Context, c *http.Client, req *http.Request, out any) error {
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %.300s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return json.Unmarshal(body, out)
}

// submit posts s and returns the new run's id.
func submit(ctx context.Context, c *http.Client, api string, s submission) (string, error) {
	req, err := s.request(api)
	if err != nil {
		return "", err
	}
	var out struct {
		RunID string `json:"run_id"`
	}
	if err := callJSON(ctx, c, req, &out); err != nil {
		return "", err
	}
	if out.RunID == "" {
		return "", fmt.Errorf("POST /runs answered 200 without a run_id")
	}
	return out.RunID, nil
}

// status returns the state GET /runs/{id}/status reports.
func status(ctx context.Context, c *http.Client, api, id string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, api+"/runs/"+id+"/status", nil)
	if err != nil {
		return "", err
	}
	var out struct {
		State string `json:"state"`
	}
	err = callJSON(ctx, c, req, &out)
	return out.State, err
}

// cancelRun posts POST /runs/{id}/cancel.
func cancelRun(ctx context.Context, c *http.Client, api, id string) error {
	req, err := http.NewRequest(http.MethodPost, api+"/runs/"+id+"/cancel", nil)
	if err != nil {
		return err
	}
	var out map[string]any
	return callJSON(ctx, c, req, &out)
}

// getRequest returns a requestFunc for a plain GET of url.
func getRequest(url string) requestFunc {
	return func() (*http.Request, error) { return http.NewRequest(http.MethodGet, url, nil) }
}
