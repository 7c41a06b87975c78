package main

import (
	"bytes"
	"net/http"

	"github.com/spe4hd/enclave/pkg/wesclient"
)

// Snakefiles the bench submits. The latency one keeps its job RUNNING for a while
// (snakemake's own start-up plus a 2 s sleep) so that RUNNING can be observed.
const (
	quickSnakefile = "rule all:\n    output: \"done.txt\"\n    shell: \"echo {config[msg]} > {output}\"\n"
	sleepSnakefile = "rule all:\n    output: \"done.txt\"\n    shell: \"sleep 2 && echo {config[msg]} > {output}\"\n"
)

// benchRun is the run the bench submits: workflow_type SMK 1.0, the Snakefile as a
// workflow_attachment, params and tags. No Idempotency-Key goes with it: every POST
// is meant to make a new run.
func benchRun(snakefile string) wesclient.RunRequest {
	return wesclient.RunRequest{
		WorkflowURL: "Snakefile", WorkflowType: "SMK", WorkflowTypeVersion: "1.0",
		WorkflowParams:           map[string]any{"msg": "bench"},
		WorkflowEngineParameters: map[string]string{"cores": "1"},
		Tags:                     map[string]string{"bench": "enclave"},
		Attachments:              []wesclient.Attachment{{Name: "Snakefile", Data: []byte(snakefile)}},
	}
}

// newWESClient returns a client of e's API over hc.
func newWESClient(e *enclave, hc *http.Client) (*wesclient.Client, error) {
	return wesclient.New(e.api(), wesclient.WithHTTPClient(hc))
}

// submission is a ready-made POST /runs body for the load loop, which measures the bare
// HTTP round trip: encoded once (by wesclient, as every client sends it), sent many
// times (each POST still makes a new run with its own id and work directory).
type submission struct {
	body        []byte
	contentType string
}

func newSubmission(snakefile string) (submission, error) {
	var buf bytes.Buffer
	ct, err := benchRun(snakefile).Encode(&buf)
	return submission{body: buf.Bytes(), contentType: ct}, err
}

func (s submission) request(api string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, api+"/runs", bytes.NewReader(s.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", s.contentType)
	return req, nil
}

// getRequest returns a requestFunc for a plain GET of url: the load loop measures bare
// HTTP against the baseline, so it sends raw requests rather than go through a client.
func getRequest(url string) requestFunc {
	return func() (*http.Request, error) { return http.NewRequest(http.MethodGet, url, nil) }
}
