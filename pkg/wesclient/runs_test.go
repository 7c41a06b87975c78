package wesclient_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// The workflow reads the attached data file and shows it on stderr, so the log proves
// that the attachment read from disk arrived under its sub-directory name.
const copySnakefile = `rule all:
    input: "data/msg.txt"
    output: "done.txt"
    shell: "cat {input} > {output}; cat {input} >&2"
`

// Every WES operation of a run's life against a real Enclave: submit with attachments
// (one from memory, one from disk) and an Idempotency-Key, list with paging, status,
// run log, wait with progress, tasks, logs, outputs, download, delete, cancel, and the
// errors that come back typed.
func TestRunLifecycle(t *testing.T) {
	needEngines(t, "snakemake")
	c := client(t, startServer(t, nil), "", nil)
	ctx := context.Background()

	si, err := c.ServiceInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := si.WorkflowTypeVersions["SMK"]; !ok {
		t.Fatalf("service-info lists no SMK: %+v", si.WorkflowTypeVersions)
	}

	data := filepath.Join(t.TempDir(), "msg.txt")
	if err := os.WriteFile(data, []byte("hello from disk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := wesclient.RunRequest{
		WorkflowURL: "Snakefile", WorkflowType: "SMK", WorkflowTypeVersion: "1.0",
		WorkflowParams:           map[string]any{"n": 3},
		WorkflowEngineParameters: map[string]string{"cores": "1"},
		Tags:                     map[string]string{"who": "wesclient"},
		Attachments: []wesclient.Attachment{
			{Name: "Snakefile", Data: []byte(copySnakefile)},
			{Name: "data/msg.txt", Path: data},
		},
	}
	id, err := c.Submit(ctx, req, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.Submit(ctx, req, "key-1"); err != nil || again != id {
		t.Errorf("a retry with the same Idempotency-Key made run %q (%v); want the first, %s", again, err, id)
	}

	var progress []wesclient.Progress
	st, err := c.Wait(ctx, id, wesclient.WaitOptions{Interval: 100 * time.Millisecond,
		Progress: func(p wesclient.Progress) { progress = append(progress, p) }})
	if err != nil || st.State != api.StateCOMPLETE || st.RunId != id {
		rl, _ := c.RunLog(ctx, id)
		t.Fatalf("wait: %+v %v; want COMPLETE. Run log: %+v", st, err, rl)
	}
	if len(progress) == 0 || progress[len(progress)-1].State != api.StateCOMPLETE {
		t.Errorf("progress %+v; want reports ending with COMPLETE", progress)
	}

	rl, err := c.RunLog(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rl.Request.WorkflowUrl != "Snakefile" || rl.Request.Tags["who"] != "wesclient" || rl.Request.WorkflowParams["n"] != 3.0 {
		t.Errorf("run log request %+v", rl.Request)
	}
	tasks, err := c.AllTasks(ctx, id)
	if err != nil || len(tasks) == 0 {
		t.Errorf("tasks: %+v %v; want Snakemake's", tasks, err)
	}
	text, next, err := c.ReadLog(ctx, id, wesclient.Stderr, 0)
	if err != nil || !strings.Contains(string(text), "hello from disk") || next < int64(len(text)) {
		t.Errorf("stderr: %q, next %d, %v", text, next, err)
	}
	if rest, _, err := c.ReadLog(ctx, id, wesclient.Stderr, next); err != nil || len(rest) != 0 {
		t.Errorf("stderr after the end: %q %v; want nothing", rest, err)
	}
	var copied bytes.Buffer
	if err := c.CopyLog(ctx, id, wesclient.Stderr, &copied, wesclient.LogOptions{}); err != nil || copied.String() != string(text) {
		t.Errorf("CopyLog: %q %v; want %q", copied.String(), err, text)
	}

	if _, ok := rl.Outputs["done.txt"]; !ok {
		t.Errorf("run log outputs %v; want done.txt", rl.Outputs)
	}
	var noOut *wesclient.NoOutputError
	if _, err := c.ReleasedOutput(ctx, id, "done.txt"); !errors.As(err, &noOut) || noOut.Path != "done.txt" {
		t.Errorf("released output of an open run: %v; want a NoOutputError (open runs release nothing through egress)", err)
	}

	// A second run, by another key, for paging; then cancel a run that has ended.
	other, err := c.Submit(ctx, req, "key-2")
	if err != nil || other == id {
		t.Fatalf("another key: run %q %v; want a new run", other, err)
	}
	page, err := c.ListRuns(ctx, 1, "")
	if err != nil || len(page.Runs) != 1 || page.Runs[0].RunId != other || page.NextPageToken == "" {
		t.Fatalf("first page of 1: %+v %v; want the newest run and a next token", page, err)
	}
	all, err := c.AllRuns(ctx, 1)
	if err != nil || len(all) != 2 || all[1].RunId != id {
		t.Errorf("all runs in pages of 1: %+v %v; want both, newest first", all, err)
	}
	if _, err := c.Wait(ctx, other, wesclient.WaitOptions{Interval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	if got, err := c.Delete(ctx, id); err != nil || got != id {
		t.Fatalf("delete: %q %v", got, err)
	}
	if rl, err := c.RunLog(ctx, id); err != nil || rl.State != api.StateCOMPLETE {
		t.Errorf("the run after delete: %s %v; want its record kept, COMPLETE", rl.State, err)
	}

	unknown := "0190a000-0000-7000-8000-000000000000"
	_, err = c.Status(ctx, unknown)
	wantError(t, "status of an unknown run", err, 404, unknown)
	_, err = c.Cancel(ctx, unknown)
	wantError(t, "cancel of an unknown run", err, 404, unknown)
	_, err = c.ListRuns(ctx, 0, "not-a-token")
	wantError(t, "a bad page token", err, 400, "page_token")
	bad := req
	bad.WorkflowEngineParameters = map[string]string{"no-such-param": "1"}
	_, err = c.Submit(ctx, bad, "")
	wantError(t, "an unknown engine parameter", err, 400, "no-such-param")
	if runs, err := c.AllRuns(ctx, 0); err != nil || len(runs) != 2 {
		t.Errorf("runs after the refused submission: %d %v; want 2", len(runs), err)
	}
}

// Cancel of a running run; Wait ends at the caller's deadline while the run goes on,
// and with the run's end state once it is canceled.
func TestCancelRunning(t *testing.T) {
	needEngines(t, "snakemake")
	c := client(t, startServer(t, nil), "", nil)
	ctx := context.Background()
	id, err := c.Submit(ctx, wesclient.RunRequest{WorkflowURL: "Snakefile", WorkflowType: "SMK", WorkflowTypeVersion: "1.0",
		Attachments: []wesclient.Attachment{{Name: "Snakefile", Data: []byte("rule all:\n    shell: 'sleep 120'\n")}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = c.Wait(short, id, wesclient.WaitOptions{Interval: 50 * time.Millisecond})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait past its deadline: %v; want context.DeadlineExceeded", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := c.Status(ctx, id)
		if err != nil || st.State == api.StateRUNNING {
			break
		}
		if wesclient.Terminal(st.State) || time.Now().After(deadline) {
			t.Fatalf("run %s is %s; want it RUNNING within 2 minutes", id, st.State)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
	if got, err := c.Cancel(ctx, id); err != nil || got != id {
		t.Fatalf("cancel: %q %v", got, err)
	}
	st, err := c.Wait(ctx, id, wesclient.WaitOptions{Interval: 50 * time.Millisecond})
	if err != nil || st.State != api.StateCANCELED {
		t.Errorf("wait after cancel: %+v %v; want CANCELED", st, err)
	}
}
