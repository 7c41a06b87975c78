package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

func newRunCmd(g *globals) *cobra.Command {
	o := newRunOptions(g)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Submit and follow workflow runs on any GA4GH WES 1.1 server",
		Long: `Submit and follow workflow runs on any GA4GH WES 1.1 server.

The server is --url, else $ENCLAVE_URL, else ` + defaultURL + `. A URL without a path
gets the standard WES base path ` + wesclient.BasePath + `. The bearer token is --token, else
$ENCLAVE_TOKEN, else the one ` + "`enclave login`" + ` stored; prefer the variable or the login to the
flag, as other users of the machine can see command lines.`,
		PersistentPreRunE: o.checkOutput,
	}
	o.addFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		newRunSubmitCmd(o),
		newRunListCmd(o),
		newRunStatusCmd(o),
		newRunGetCmd(o),
		newRunCancelCmd(o),
		newRunTasksCmd(o),
		newRunLogsCmd(o),
		newRunWaitCmd(o),
		newRunOutputsCmd(o),
		newRunDownloadCmd(o),
		newRunROCrateCmd(o),
		newRunReviewCmd(o),
		newRunDeleteCmd(o),
	)
	return cmd
}

func newRunListCmd(o *runOptions) *cobra.Command {
	var size int64
	var token, state string
	var all bool
	var f wesclient.RunFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Long: `List the runs you may see, newest first: your own, or everyone's for data controllers
and administrators. The filters narrow the list and combine; --review pending is the
review queue, the runs with outputs waiting for a data controller's decision. A filtered
page may be short, or empty, while more pages follow: use --all to follow them.`,
		Example: `  enclave run list --review pending --all
  enclave run list --state RUNNING --workflow cohort-count-smk
  enclave run list --owner alice --tag project=p1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.State = strings.ToUpper(state)
			c, err := o.client()
			if err != nil {
				return err
			}
			return runListing.fetchAndPrint(cmd, o, token, all, func(t string) ([]api.RunSummary, string, error) {
				page, err := c.ListRunsFiltered(cmd.Context(), size, t, f)
				return page.Runs, page.NextPageToken, err
			})
		},
	}
	addPageFlags(cmd, &size, &token, &all, "runs")
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "only runs in this state (QUEUED, RUNNING, COMPLETE, ...)")
	fl.StringVar(&f.Workflow, "workflow", "", "only runs of this catalogue workflow id")
	fl.StringVar(&f.Review, "review", "", "pending: only runs with outputs waiting for review")
	fl.StringVar(&f.Owner, "owner", "", "only this user's runs (data controllers and administrators)")
	fl.StringArrayVar(&f.Tags, "tag", nil, "only runs with this tag, KEY=VALUE (repeatable)")
	return cmd
}

var runListing = listing[api.RunSummary]{
	what: "runs", flag: "--page-token",
	header: []string{"RUN ID", "STATE", "START", "END", "TAGS"},
	row: func(r api.RunSummary) []string {
		return []string{r.RunId, string(r.State), r.StartTime, r.EndTime, formatPairs(r.Tags)}
	},
	json: func(runs []api.RunSummary, next string) any {
		return api.RunListResponse{Runs: runs, NextPageToken: next}
	},
}

var taskListing = listing[api.TaskLog]{
	what: "tasks", flag: "--page-token",
	header: []string{"ID", "NAME", "START", "END", "EXIT"},
	row: func(t api.TaskLog) []string {
		exit := ""
		if t.ExitCode != nil {
			exit = fmt.Sprint(*t.ExitCode)
		}
		return []string{t.Id, t.Name, t.StartTime, t.EndTime, exit}
	},
	json: func(tasks []api.TaskLog, next string) any {
		return api.TaskListResponse{TaskLogs: tasks, NextPageToken: next}
	},
}

func addPageFlags(cmd *cobra.Command, size *int64, token *string, all *bool, what string) {
	f := cmd.Flags()
	f.Int64Var(size, "page-size", 0, "how many "+what+" per page (default: the server's)")
	f.StringVar(token, "page-token", "", "start at this page (a next_page_token)")
	f.BoolVar(all, "all", false, "follow next_page_token to the last page")
}

func newRunStatusCmd(o *runOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status RUN_ID",
		Short: "Show a run's state",
		Args:  cobra.ExactArgs(1),
		RunE:  runCall(o, (*wesclient.Client).Status, o.writeStatus),
	}
}

func (o *runOptions) writeStatus(w io.Writer, st api.RunStatus) error {
	if o.json() {
		return writeJSON(w, st)
	}
	tw := newTable(w, "RUN ID", "STATE")
	tw.row(st.RunId, string(st.State))
	return tw.flush()
}

func newRunGetCmd(o *runOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "get RUN_ID",
		Short: "Show everything the server knows about a run (its RunLog)",
		Args:  cobra.ExactArgs(1),
		RunE:  runCall(o, (*wesclient.Client).RunLog, o.writeRunLog),
	}
}

func (o *runOptions) writeRunLog(w io.Writer, rl api.RunLog) error {
	if o.json() {
		return writeJSON(w, rl)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, printable(v))
		}
	}
	rq := rl.Request
	kv("run_id", rl.RunId)
	kv("state", string(rl.State))
	kv("workflow", strings.TrimSpace(rq.WorkflowType+" "+rq.WorkflowTypeVersion+" "+rq.WorkflowUrl))
	kv("engine", strings.TrimSpace(rq.WorkflowEngine+" "+rq.WorkflowEngineVersion))
	kv("engine parameters", formatPairs(rq.WorkflowEngineParameters))
	kv("tags", formatPairs(rq.Tags))
	if len(rq.WorkflowParams) > 0 {
		b, _ := json.Marshal(rq.WorkflowParams)
		kv("params", string(b))
	}
	l := rl.RunLog
	kv("start", l.StartTime)
	kv("end", l.EndTime)
	if l.ExitCode != nil {
		kv("exit code", fmt.Sprint(*l.ExitCode))
	}
	kv("command", strings.Join(l.Cmd, " "))
	kv("stdout", l.Stdout)
	kv("stderr", l.Stderr)
	kv("tasks", rl.TaskLogsUrl)
	for i, m := range l.SystemLogs {
		k := ""
		if i == 0 {
			k = "system logs"
		}
		fmt.Fprintf(tw, "%s\t%s\n", k+":", printable(m))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rl.Outputs) > 0 {
		b, err := json.MarshalIndent(rl.Outputs, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "outputs:\n%s\n", b)
	}
	return nil
}

func newRunCancelCmd(o *runOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel RUN_ID",
		Short: "Ask the server to stop a run",
		Args:  cobra.ExactArgs(1),
		RunE:  runCall(o, (*wesclient.Client).Cancel, o.writeRunID),
	}
}

func (o *runOptions) writeRunID(w io.Writer, id string) error {
	if o.json() {
		return writeJSON(w, api.RunId{RunId: id})
	}
	_, err := fmt.Fprintln(w, printable(id))
	return err
}

func newRunTasksCmd(o *runOptions) *cobra.Command {
	var size int64
	var token string
	var all bool
	cmd := &cobra.Command{
		Use:   "tasks RUN_ID",
		Short: "List a run's tasks",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			return taskListing.fetchAndPrint(cmd, o, token, all, func(t string) ([]api.TaskLog, string, error) {
				page, err := c.ListTasks(cmd.Context(), args[0], size, t)
				return page.TaskLogs, page.NextPageToken, err
			})
		},
	}
	addPageFlags(cmd, &size, &token, &all, "tasks")
	return cmd
}
