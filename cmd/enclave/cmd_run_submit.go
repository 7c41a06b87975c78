package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/pkg/wesclient"
)

// submitOptions are the flags of `enclave run submit`.
type submitOptions struct {
	idempotencyKey string
	baseDir        string
	attach         []string
	typ, typeVer   string
	engine         string
	engineVer      string
	paramsFile     string
	params         []string
	tags           []string
	engineParams   []string
	dryRun         bool
	workflowID     string
}

func newRunSubmitCmd(o *runOptions) *cobra.Command {
	s := &submitOptions{}
	cmd := &cobra.Command{
		Use:   "submit WORKFLOW_FILE | --workflow-id ID",
		Short: "Submit a run of a workflow file (attached) or of a catalogue workflow; print the run id",
		Long: `Submit a run, of a workflow file or of a catalogue workflow.

A catalogue run (--workflow-id ID, the id ` + "`enclave catalog list`" + ` shows) sends no files:
the server runs its validated copy of the workflow, and workflow_params name datasets by
their id (` + "`enclave catalog datasets`" + `). --type and --type-version may be left out then;
the server takes them from the catalogue.

Otherwise the workflow file and every --attach file or directory are sent as
attachments, named by their path relative to the base directory (--base-dir, by default
the workflow file's directory), so sub-directories are kept; workflow_url is the workflow
file's name there. Files outside the base directory, symbolic links that point outside it,
and anything but regular files are refused. Hidden directories (.git, .snakemake) inside
an attached directory are skipped.

Workflow parameters come from --params FILE (a JSON object; - reads standard input) and
--param, which wins: --param name=text sets a string, --param name:=JSON sets any JSON
value (--param threads:=4, --param 'samples:=["a","b"]').`,
		Example: `  enclave run submit Snakefile --type SMK --type-version 1.0 --attach scripts --param sample=A
  enclave run submit wf/main.cwl --type CWL --type-version v1.2 --params inputs.json -o json
  enclave run submit --workflow-id cohort-count-smk --param cohort=cohort-demo --param group_by=sex`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := s.checkForm(args); err != nil {
				return err
			}
			// A catalogue run sends the form fields only, with the workflow's id as
			// workflow_url; a file run attaches the files.
			workflowURL, files := s.workflowID, []wesclient.Attachment(nil)
			if s.workflowID == "" {
				var err error
				if files, workflowURL, err = collectAttachments(s.baseDir, args[0], s.attach); err != nil {
					return err
				}
			}
			r, err := s.request(o.g.stdin, workflowURL, files)
			if err != nil {
				return err
			}
			return s.send(cmd, o, r)
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.typ, "type", "", "workflow_type, e.g. SMK, CWL or NFL (required)")
	f.StringVar(&s.typeVer, "type-version", "", "workflow_type_version, e.g. 1.0 or v1.2 (required)")
	f.StringVar(&s.engine, "engine", "", "workflow_engine, e.g. snakemake (default: the server's choice)")
	f.StringVar(&s.engineVer, "engine-version", "", "workflow_engine_version (default: the server's newest)")
	f.StringArrayVar(&s.attach, "attach", nil, "attach a file or a directory (repeatable)")
	f.StringVar(&s.baseDir, "base-dir", "", "directory attachment names are relative to (default: the workflow file's)")
	f.StringVar(&s.paramsFile, "params", "", "workflow_params from a JSON file (- for standard input)")
	f.StringArrayVar(&s.params, "param", nil, "one workflow parameter: name=text or name:=JSON (repeatable)")
	f.StringArrayVar(&s.tags, "tag", nil, "a tag: key=value (repeatable)")
	f.StringArrayVar(&s.engineParams, "engine-param", nil, "a workflow engine parameter: name=value (repeatable)")
	f.BoolVar(&s.dryRun, "dry-run", false, "print the form fields and attachment names instead of submitting")
	f.StringVar(&s.workflowID, "workflow-id", "", "run this catalogue workflow (enclave catalog list) instead of a WORKFLOW_FILE")
	f.StringVar(&s.idempotencyKey, "idempotency-key", "", "Idempotency-Key to send: a retry with the same key gets the first run, never a second (default: a random one)")
	return cmd
}

// idemKey is --idempotency-key, or a fresh random key for this submission.
func (s *submitOptions) idemKey() string {
	if s.idempotencyKey == "" {
		s.idempotencyKey = uuid.NewString()
	}
	return s.idempotencyKey
}

// checkForm checks that the command line names either a workflow file or a catalogue
// workflow, with the flags that form needs. --type and --type-version are checked here,
// not marked required, because a catalogue run does not need them.
func (s *submitOptions) checkForm(args []string) error {
	if s.workflowID != "" {
		switch {
		case len(args) > 0:
			return fmt.Errorf("give either WORKFLOW_FILE (%s) or --workflow-id %s, not both: a catalogue run sends no files", args[0], s.workflowID)
		case len(s.attach) > 0 || s.baseDir != "":
			return errors.New("--attach and --base-dir are for a WORKFLOW_FILE run: a --workflow-id run sends no files")
		}
		return nil
	}
	if len(args) == 0 {
		return errors.New("name a WORKFLOW_FILE to attach, or a catalogue workflow with --workflow-id ID (see enclave catalog list)")
	}
	var missing []string
	for _, f := range []struct{ name, val string }{{"type", s.typ}, {"type-version", s.typeVer}} {
		if f.val == "" {
			missing = append(missing, strconv.Quote(f.name))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("required flag(s) %s not set: a WORKFLOW_FILE run needs --type and --type-version (a --workflow-id run does not)", strings.Join(missing, ", "))
	}
	return nil
}

// send submits r, or prints it with --dry-run, and prints the run id.
func (s *submitOptions) send(cmd *cobra.Command, o *runOptions, r wesclient.RunRequest) error {
	if s.dryRun {
		return writeDryRun(cmd.OutOrStdout(), o, r)
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	id, err := c.Submit(cmd.Context(), r, s.idemKey())
	if err != nil {
		return err
	}
	return o.writeRunID(cmd.OutOrStdout(), id)
}

// request builds the run request from the flags, with workflowURL and the attachments.
func (s *submitOptions) request(stdin io.Reader, workflowURL string, files []wesclient.Attachment) (wesclient.RunRequest, error) {
	// A catalogue run may leave the type out; a file run has it (checkForm).
	r := wesclient.RunRequest{
		WorkflowURL: workflowURL, WorkflowType: s.typ, WorkflowTypeVersion: s.typeVer,
		WorkflowEngine: s.engine, WorkflowEngineVersion: s.engineVer, Attachments: files,
	}
	var err error
	if r.WorkflowParams, err = s.workflowParams(stdin); err != nil {
		return r, err
	}
	if r.Tags, err = pairs("--tag", s.tags); err != nil {
		return r, err
	}
	r.WorkflowEngineParameters, err = pairs("--engine-param", s.engineParams)
	return r, err
}

// pairs turns repeated key=value flags into a map; nil when there are none.
func pairs(flag string, vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range vals {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want key=value", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

// workflowParams merges --params and --param; nil when neither is given.
func (s *submitOptions) workflowParams(stdin io.Reader) (map[string]any, error) {
	var params map[string]any
	if s.paramsFile != "" {
		var b []byte
		var err error
		if s.paramsFile == "-" {
			b, err = io.ReadAll(stdin)
		} else {
			b, err = os.ReadFile(s.paramsFile)
		}
		if err != nil {
			return nil, fmt.Errorf("--params: %w", err)
		}
		if err := json.Unmarshal(b, &params); err != nil || params == nil {
			return nil, fmt.Errorf("--params %s: not a JSON object", s.paramsFile)
		}
	}
	for _, p := range s.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || k == ":" {
			return nil, fmt.Errorf("--param %q: want name=text or name:=JSON", p)
		}
		if params == nil {
			params = map[string]any{}
		}
		if name, typed := strings.CutSuffix(k, ":"); typed {
			var val any
			if err := json.Unmarshal([]byte(v), &val); err != nil {
				return nil, fmt.Errorf("--param %s:=%s: not JSON (use %s=%s for text)", name, v, name, v)
			}
			params[name] = val
			continue
		}
		params[k] = v
	}
	return params, nil
}

// writeDryRun prints the form fields and the attachment names that would be sent.
func writeDryRun(w io.Writer, o *runOptions, r wesclient.RunRequest) error {
	fields, err := r.Fields()
	if err != nil {
		return err
	}
	names := make([]string, len(r.Attachments))
	for i, a := range r.Attachments {
		names[i] = a.Name
	}
	if o.json() {
		m := map[string]any{"workflow_attachment": names}
		for _, f := range fields {
			m[f.Name] = f.Value
		}
		return writeJSON(w, m)
	}
	for _, f := range fields {
		fmt.Fprintf(w, "%s: %s\n", f.Name, f.Value)
	}
	for _, n := range names {
		fmt.Fprintf(w, "workflow_attachment: %s\n", n)
	}
	return nil
}
