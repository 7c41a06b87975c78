package main

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/audit"
)

// `enclave audit`: read, export and verify a server's hash-chained audit trail.

func newAuditCmd(g *globals) *cobra.Command {
	o := newRunOptions(g)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Query, export and verify the server's tamper-evident audit trail (administrators)",
		Long: `Query, export and verify the server's audit trail. Every entry carries the hash of
the one before it, so an edited, inserted or deleted entry breaks the chain where it
happened. The server is --url, else $ENCLAVE_URL, else ` + defaultURL + `; the token as for
enclave run. Only administrators may read the trail.`,
		PersistentPreRunE: o.checkOutput,
	}
	o.addFlags(cmd.PersistentFlags())
	cmd.AddCommand(newAuditListCmd(o), newAuditExportCmd(o), newAuditVerifyCmd(o))
	return cmd
}

func newAuditListCmd(o *runOptions) *cobra.Command {
	var q api.QueryAuditParams
	var since, until string
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit entries, oldest first",
		Example: `  enclave audit list --run 3f2a...
  enclave audit list --action 'egress.*' --since 24h
  enclave audit list --actor alice --since 2026-01-02T00:00:00Z --limit 500 --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			now := time.Now()
			if q.Since, err = auditTime("--since", since, now); err != nil {
				return err
			}
			if q.Until, err = auditTime("--until", until, now); err != nil {
				return err
			}
			if q.Limit < 0 || q.Limit > 1000 {
				return fmt.Errorf("--limit %d: want 1 to 1000", q.Limit)
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			return auditListing.fetchAndPrint(cmd, o, q.Cursor, all, func(cur string) ([]api.AuditEntry, string, error) {
				q.Cursor = cur
				page, err := c.QueryAudit(cmd.Context(), q)
				return page.Entries, page.NextCursor, err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.RunId, "run", "", "only entries about this run")
	f.StringVar(&q.Actor, "actor", "", "only entries by this subject (or system)")
	f.StringVar(&q.Action, "action", "", "only this action, e.g. run.submit, or a prefix such as 'egress.*'")
	f.StringVar(&since, "since", "", "only entries at or after this time: RFC 3339, or a duration ago such as 24h")
	f.StringVar(&until, "until", "", "only entries before this time: RFC 3339, or a duration ago")
	f.Int32Var(&q.Limit, "limit", 0, "at most this many entries per page, 1 to 1000 (default: the server's, 100)")
	f.StringVar(&q.Cursor, "cursor", "", "start at this page (a next_cursor)")
	f.BoolVar(&all, "all", false, "follow next_cursor to the last page")
	return cmd
}

var auditListing = listing[api.AuditEntry]{
	what: "entries", flag: "--cursor",
	header: []string{"SEQ", "TIME", "ACTOR", "ACTION", "OUTCOME", "RUN", "WORKFLOW", "DATASET", "REASON"},
	row: func(e api.AuditEntry) []string {
		ev := e.Event
		return []string{strconv.FormatInt(e.Seq, 10), ev.Time.UTC().Format(time.RFC3339), ev.Actor, ev.Action, ev.Outcome,
			ev.RunId, ev.Workflow, ev.Dataset, ev.Reason}
	},
	json: func(entries []api.AuditEntry, next string) any {
		return api.AuditPage{Entries: entries, NextCursor: next}
	},
}

// auditTime turns a --since/--until value into the RFC 3339 time the API takes: an RFC
// 3339 time as it is, a duration as that long before now.
func auditTime(flag, v string, now time.Time) (string, error) {
	if v == "" {
		return "", nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.Format(time.RFC3339Nano), nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d).UTC().Format(time.RFC3339Nano), nil
	}
	return "", fmt.Errorf("%s %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z or a duration such as 24h", flag, v)
}

func newAuditExportCmd(o *runOptions) *cobra.Command {
	var file string
	var force bool
	cmd := &cobra.Command{
		Use:   "export [-O FILE]",
		Short: "Export the whole audit trail as JSON lines",
		Long: `Export the whole audit trail, oldest first, one JSON object per line, to standard
output or to -O FILE (written under a temporary name and renamed when complete; readable
by you only). Check it with enclave audit verify FILE. The export is itself audited.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := outputTarget(file, force, 0o600)
			if err != nil {
				return err
			}
			if t != nil {
				defer t.Close()
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			export, err := c.ExportAudit(cmd.Context())
			if err != nil {
				return err
			}
			defer export.Close()
			if t == nil {
				_, err = io.Copy(cmd.OutOrStdout(), export)
				return err
			}
			n, _, err := t.write(export, "")
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d bytes)\n", t.shown, n)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "output-file", "O", "", "write to this file instead of standard output")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

func newAuditVerifyCmd(o *runOptions) *cobra.Command {
	var ckptDir string
	var fromServer bool
	var pubFiles []string
	cmd := &cobra.Command{
		Use:   "verify [FILE]",
		Short: "Check the hash chain of an export, or of a fresh export from the server",
		Long: `Check an audit export (FILE, - for standard input), or without FILE a fresh export
from the server: every entry's hash, its sequence number and its link to the entry
before it. Prints "audit chain ok: N entries, head HASH" and exits 0, or prints every
problem and exits 1. An export has no head record, so a cut-off tail shows only as
fewer entries or another head than the one you noted earlier: keep the head.

With --checkpoints DIR and --public-key FILE it also checks the export against the
signed checkpoints the workers store in the result store (audit.checkpoint.key_file):
each one's signature, and that the export's entry at its seq has its hash. That finds
a rewrite of the whole chain with recomputed hashes, which the chain alone cannot show.
Copy the checkpoints out of the store first, e.g.
  mc mirror ALIAS/BUCKET/_audit/checkpoints/ DIR
(with the local store they are files under <results dir>/objects/_audit/checkpoints/),
or let the server list them with --checkpoints-from-server (administrators). The server
cannot forge a checkpoint, but it could withhold some: the newest one's seq and time
are printed; a copy of your own is the independent check.`,
		Example: `  enclave audit verify audit.jsonl
  enclave audit verify --checkpoints ./checkpoints --public-key checkpoint.pub.pem audit.jsonl
  enclave audit verify --checkpoints-from-server --public-key checkpoint.pub.pem`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var cps []audit.NamedCheckpoint
			var keys []ed25519.PublicKey
			var err error
			switch {
			case ckptDir != "" && fromServer:
				return fmt.Errorf("--checkpoints DIR or --checkpoints-from-server, not both")
			case ckptDir == "" && !fromServer && len(pubFiles) > 0:
				return fmt.Errorf("--public-key needs --checkpoints DIR or --checkpoints-from-server: the key checks the checkpoints")
			case ckptDir != "":
				if keys, err = readPublicKeys(pubFiles); err != nil {
					return err
				}
				if cps, err = audit.LoadCheckpoints(ckptDir); err != nil {
					return fmt.Errorf("--checkpoints: %w", err)
				}
			case fromServer:
				if keys, err = readPublicKeys(pubFiles); err != nil {
					return err
				}
				if cps, err = serverCheckpoints(cmd, o); err != nil {
					return fmt.Errorf("--checkpoints-from-server: %w", err)
				}
			}
			r, closeFn, err := auditSource(cmd, o, args)
			if err != nil {
				return err
			}
			var rep audit.Report
			if cps != nil {
				rep, err = audit.VerifyJSONLinesAnchored(r, cps, keys)
			} else {
				rep, err = audit.VerifyJSONLines(r)
			}
			closeFn()
			if err != nil {
				return fmt.Errorf("reading the export: %w", err)
			}
			return writeVerifyReport(cmd.OutOrStdout(), o, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&ckptDir, "checkpoints", "", "also check the export against the signed checkpoints (*.json) under this directory")
	f.BoolVar(&fromServer, "checkpoints-from-server", false, "also check the export against the signed checkpoints the server lists from its result store")
	f.StringArrayVar(&pubFiles, "public-key", nil, "PEM public key the checkpoints are signed with (openssl pkey -in KEY -pubout); repeat for rotated keys")
	return cmd
}

// serverCheckpoints reads the checkpoints the server lists.
func serverCheckpoints(cmd *cobra.Command, o *runOptions) ([]audit.NamedCheckpoint, error) {
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	body, err := c.ListAuditCheckpoints(cmd.Context())
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return audit.ReadCheckpoints(body)
}

// readPublicKeys reads the --public-key files.
func readPublicKeys(files []string) ([]ed25519.PublicKey, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("checking checkpoints needs --public-key FILE: the public half of audit.checkpoint.key_file (openssl pkey -in KEY -pubout -out FILE)")
	}
	var keys []ed25519.PublicKey
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("--public-key: %w", err)
		}
		k, err := audit.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("--public-key %s: %w", p, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// auditSource opens what verify reads: the file, standard input, or a fresh export.
func auditSource(cmd *cobra.Command, o *runOptions, args []string) (io.Reader, func(), error) {
	switch {
	case len(args) == 1 && args[0] == "-":
		return o.g.stdin, func() {}, nil
	case len(args) == 1:
		f, err := os.Open(args[0])
		if err != nil {
			return nil, nil, err
		}
		return f, func() { _ = f.Close() }, nil
	}
	c, err := o.client()
	if err != nil {
		return nil, nil, err
	}
	export, err := c.ExportAudit(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	return export, func() { _ = export.Close() }, nil
}

func writeVerifyReport(w io.Writer, o *runOptions, rep audit.Report) error {
	if o.json() {
		if err := writeJSON(w, rep); err != nil {
			return err
		}
	} else if rep.OK {
		fmt.Fprintf(w, "audit chain ok: %d entries, head %s\n", rep.Entries, rep.Head)
		if c := rep.Checkpoints; c != nil {
			fmt.Fprintf(w, "checkpoints ok: %d of %d matched", c.Anchored, c.Given)
			if c.Older > 0 {
				fmt.Fprintf(w, ", %d older than the export's first entry (not checked)", c.Older)
			}
			if c.Newest != nil {
				fmt.Fprintf(w, "; the newest is of seq %d, made %s: entries after it rest on the chain alone", c.Newest.Seq, c.Newest.Time)
			}
			fmt.Fprintln(w)
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "seq %d (%s): %s: %s\n", p.Seq, printable(p.ID), p.Kind, printable(p.Message))
		}
		if rep.Truncated {
			fmt.Fprintf(w, "(more problems not shown: stopped at %d)\n", len(rep.Problems))
		}
	}
	if !rep.OK {
		n := strconv.Itoa(len(rep.Problems))
		if rep.Truncated {
			n += "+"
		}
		return &exitError{code: 1, msg: fmt.Sprintf("audit chain broken: %s problem(s) in %d entries", n, rep.Entries)}
	}
	return nil
}
