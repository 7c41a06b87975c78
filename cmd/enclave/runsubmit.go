package main

import (
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// submitOptions are the flags of `enclave run submit`.
type submitOptions struct {
	baseDir      string
	attach       []string
	typ, typeVer string
	engine       string
	engineVer    string
	paramsFile   string
	params       []string
	tags         []string
	engineParams []string
	dryRun       bool
}

func newRunSubmitCmd(o *runOptions) *cobra.Command {
	s := &submitOptions{}
	cmd := &cobra.Command{
		Use:   "submit WORKFLOW_FILE",
		Short: "Submit a run: attach the workflow (and more files) and print the run id",
		Long: `Submit a run. The workflow file and every --attach file or directory are sent as
attachments, named by their path relative to the base directory (--base-dir, by default
the workflow file's directory), so sub-directories are kept; workflow_url is the workflow
file's name there. Files outside the base directory, symbolic links that point outside it,
and anything but regular files are refused. Hidden directories (.git, .snakemake) inside
an attached directory are skipped.

Workflow parameters come from --params FILE (a JSON object; - reads standard input) and
--param, which wins: --param name=text sets a string, --param name:=JSON sets any JSON
value (--param threads:=4, --param 'samples:=["a","b"]').`,
		Example: `  enclave run submit Snakefile --type SMK --type-version 1.0 --attach scripts --param sample=A
  enclave run submit wf/main.cwl --type CWL --type-version v1.2 --params inputs.json -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.run(cmd, o, args[0])
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
	_ = cmd.MarkFlagRequired("type")
	_ = cmd.MarkFlagRequired("type-version")
	return cmd
}

func (s *submitOptions) run(cmd *cobra.Command, o *runOptions, workflow string) error {
	files, workflowURL, err := collectAttachments(s.baseDir, workflow, s.attach)
	if err != nil {
		return err
	}
	fields, err := s.formFields(o.g.stdin)
	if err != nil {
		return err
	}
	fields = append(fields, formField{"workflow_url", workflowURL})
	if s.dryRun {
		return writeDryRun(cmd.OutOrStdout(), o, fields, files)
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	// Stream the body: attachments can be large, and nothing needs them all in memory.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(writeMultipart(mw, fields, files))
	}()
	id, err := c.submit(cmd.Context(), mw.FormDataContentType(), pr)
	_ = pr.Close() // stops the writer if the server answered before reading everything
	<-done
	if err != nil {
		return err
	}
	return writeRunID(cmd.OutOrStdout(), o, id)
}

// formField is one text part of the run request, in the order sent.
type formField struct{ name, value string }

// formFields builds the text parts of the run request from the flags.
func (s *submitOptions) formFields(stdin io.Reader) ([]formField, error) {
	fields := []formField{{"workflow_type", s.typ}, {"workflow_type_version", s.typeVer}}
	if s.engine != "" {
		fields = append(fields, formField{"workflow_engine", s.engine})
	}
	if s.engineVer != "" {
		fields = append(fields, formField{"workflow_engine_version", s.engineVer})
	}
	params, err := s.workflowParams(stdin)
	if err != nil {
		return nil, err
	}
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, err
		}
		fields = append(fields, formField{"workflow_params", string(b)})
	}
	for _, p := range []struct {
		flag, field string
		vals        []string
	}{
		{"--tag", "tags", s.tags},
		{"--engine-param", "workflow_engine_parameters", s.engineParams},
	} {
		if len(p.vals) == 0 {
			continue
		}
		m := map[string]string{}
		for _, kv := range p.vals {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("%s %q: want key=value", p.flag, kv)
			}
			m[k] = v
		}
		b, _ := json.Marshal(m)
		fields = append(fields, formField{p.field, string(b)})
	}
	return fields, nil
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

// writeMultipart writes the run request: text fields first, then one workflow_attachment
// part per file, named by its relative path.
func writeMultipart(mw *multipart.Writer, fields []formField, files []attachment) error {
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			return err
		}
	}
	for _, a := range files {
		if err := copyPart(mw, a); err != nil {
			return err
		}
	}
	return mw.Close()
}

func copyPart(mw *multipart.Writer, a attachment) error {
	f, err := os.Open(a.path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := mw.CreateFormFile("workflow_attachment", a.name)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, f)
	return err
}

func writeDryRun(w io.Writer, o *runOptions, fields []formField, files []attachment) error {
	names := make([]string, len(files))
	for i, a := range files {
		names[i] = a.name
	}
	if o.json() {
		m := map[string]any{"workflow_attachment": names}
		for _, f := range fields {
			m[f.name] = f.value
		}
		return writeJSON(w, m)
	}
	for _, f := range fields {
		fmt.Fprintf(w, "%s: %s\n", f.name, f.value)
	}
	for _, n := range names {
		fmt.Fprintf(w, "workflow_attachment: %s\n", n)
	}
	return nil
}
