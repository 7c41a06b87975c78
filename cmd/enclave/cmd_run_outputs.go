package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// Commands for a run's life in the sealed zone after it ends: its outputs, their
// download and review, and the deletion of its files. Enclave extensions.

func newRunOutputsCmd(o *runOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "outputs RUN_ID",
		Short: "List a run's outputs: released, waiting for review (pending) or rejected",
		Long: `List the files a run released and, where the workflow's outputs are reviewed, those
waiting for a data controller (pending) or rejected. Only files on the workflow's output
allow-list ever appear. Download a released one with enclave run download.`,
		Args: cobra.ExactArgs(1),
		RunE: runCall(o, (*wesclient.Client).Outputs, o.writeOutputs),
	}
}

func (o *runOptions) writeOutputs(w io.Writer, l api.RunOutputList) error {
	if l.Outputs == nil {
		l.Outputs = []api.RunOutput{}
	}
	if o.json() {
		return writeJSON(w, l)
	}
	// The server shows the size and sha256 of an unreleased output only to reviewers;
	// for everyone else those cells stay "-" and REASON says why it was not released.
	tw := newTable(w, "PATH", "SIZE", "SHA256", "STATUS", "APPROVALS", "REASON")
	for _, out := range l.Outputs {
		size := ""
		if out.Size > 0 || out.Sha256 != "" {
			size = strconv.FormatInt(out.Size, 10)
		}
		approvals := ""
		if out.ApprovalsRequired > 0 {
			approvals = fmt.Sprintf("%d/%d", out.Approvals, out.ApprovalsRequired)
		}
		tw.row(out.Path, size, out.Sha256, string(out.Status), approvals, strings.ReplaceAll(out.Reason, "\n", " "))
	}
	return tw.flush()
}

func newRunDownloadCmd(o *runOptions) *cobra.Command {
	var file, dir string
	var force bool
	cmd := &cobra.Command{
		Use:   "download RUN_ID PATH",
		Short: "Download a released output and check its sha256",
		Long: `Download one released output (PATH as enclave run outputs lists it). The file is
written to -O FILE (- for standard output), or to DIR/PATH with -d DIR (default: the
current directory), creating sub-directories; nothing is ever written outside DIR. The
bytes are checked against the sha256 the server recorded when it released the file
before the file appears under its name; a mismatch saves nothing and fails. An existing
file is kept unless --force is given.`,
		Example: `  enclave run download 3f2a... results/summary.csv              # ./results/summary.csv
  enclave run download 3f2a... results/summary.csv -O counts.csv
  enclave run download 3f2a... results/summary.csv -d out --force`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file != "" && dir != "" {
				return errors.New("give -O FILE or -d DIR, not both")
			}
			return downloadOutput(cmd, o, args[0], args[1], file, dir, force)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "output-file", "O", "", "write to this file (- for standard output)")
	f.StringVarP(&dir, "dir", "d", "", "write to DIR/PATH (default: the current directory)")
	f.BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

func downloadOutput(cmd *cobra.Command, o *runOptions, id, want, file, dir string, force bool) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	out, err := c.ReleasedOutput(ctx, id, want)
	var none *wesclient.NoOutputError
	if errors.As(err, &none) {
		return fmt.Errorf("%w (enclave run outputs %s lists them)", err, id)
	}
	if err != nil {
		return err
	}

	var t *saveTarget
	switch {
	case file == "-":
		// Standard output cannot be taken back: a mismatch is reported after the bytes.
	case file != "":
		t, err = targetFile(file, force, 0o644)
	default:
		if dir == "" {
			dir = "."
		}
		t, err = targetInDir(dir, out.Path, force, 0o644)
	}
	if err != nil {
		return err
	}
	if t != nil {
		defer t.Close()
		if err := t.checkFree(); err != nil {
			return err // before downloading anything
		}
	}

	dl, err := c.Download(ctx, id, out.Path)
	if err != nil {
		return err
	}
	defer dl.Close()
	if dl.SHA256 != "" && !strings.EqualFold(dl.SHA256, out.Sha256) {
		return fmt.Errorf("the server sent output %q with sha256 %s, but listed %s: not saved", out.Path, printable(dl.SHA256), out.Sha256)
	}
	if t == nil {
		sum, err := streamChecked(cmd.OutOrStdout(), dl)
		if err == nil && !strings.EqualFold(sum, out.Sha256) {
			err = fmt.Errorf("the bytes written have sha256 %s, but the server recorded %s: discard them", sum, out.Sha256)
		}
		return err
	}
	n, sum, err := t.write(dl, out.Sha256)
	if err != nil {
		return err
	}
	if o.json() {
		return writeJSON(cmd.OutOrStdout(), map[string]any{"run_id": id, "path": out.Path, "file": t.shown, "size": n, "sha256": sum})
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s (%d bytes, sha256 %s ok)\n", t.shown, n, sum)
	return err
}

// streamChecked copies r to w and returns the sha256 of what it copied.
func streamChecked(w io.Writer, r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func newRunReviewCmd(o *runOptions) *cobra.Command {
	var approve, reject bool
	var reason string
	var files []string
	cmd := &cobra.Command{
		Use:   "review RUN_ID --approve|--reject [--reason TEXT] [--file PATH]...",
		Short: "Approve or reject a run's pending outputs (data controllers)",
		Long: `Decide on a run's outputs that wait for review (workflows with egress: review): all
of them, or only those named with --file (repeat it; the others stay pending). An
approved file is checked against the sha256 recorded when the run ended and released
once as many distinct reviewers as it needs have approved it (APPROVALS shows how many
have, of how many); a rejected one never leaves the zone, and the run's owner sees the
reason. --reason is required to reject. You cannot review a run of your own. Prints the
run's outputs after the decision.`,
		Example: `  enclave run review 3f2a... --approve
  enclave run review 3f2a... --reject --file results/by_site.csv --reason "counts below 5"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var decision api.OutputReviewDecision
			switch {
			case approve == reject:
				return errors.New("give exactly one of --approve or --reject")
			case approve:
				decision = api.OutputReviewDecisionApprove
			case strings.TrimSpace(reason) == "":
				return errors.New("--reject needs --reason TEXT: the run's owner is told why")
			default:
				decision = api.OutputReviewDecisionReject
			}
			rv := api.OutputReview{Decision: decision, Reason: reason}
			for _, p := range files {
				rv.Files = append(rv.Files, api.OutputFileDecision{Path: p})
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			l, err := c.Review(cmd.Context(), args[0], rv)
			if err != nil {
				return err
			}
			return o.writeOutputs(cmd.OutOrStdout(), l)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&approve, "approve", false, "approve the pending outputs (or those named by --file)")
	f.BoolVar(&reject, "reject", false, "reject the pending outputs (or those named by --file)")
	f.StringVar(&reason, "reason", "", "why (required with --reject; the run's owner sees it)")
	f.StringArrayVar(&files, "file", nil, "decide on this output only (repeatable); default: every pending output")
	return cmd
}

func newRunDeleteCmd(o *runOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete RUN_ID",
		Short: "Delete a finished run's files: working directory, engine logs and released outputs",
		Long: `Delete a finished run's working directory, engine logs and released outputs (owner or
administrator). The run's record, its state and its audit trail stay. A run that has not
finished must be cancelled first.`,
		Args: cobra.ExactArgs(1),
		RunE: runCall(o, (*wesclient.Client).Delete, o.writeRunID),
	}
}
