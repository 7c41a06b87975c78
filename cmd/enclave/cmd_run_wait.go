package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// Exit codes of `enclave run wait`.
const (
	exitRunFailed = 1 // the run ended in a state other than COMPLETE
	exitTimeout   = 2 // --timeout passed first
)

func newRunWaitCmd(o *runOptions) *cobra.Command {
	var timeout, interval time.Duration
	cmd := &cobra.Command{
		Use:   "wait RUN_ID",
		Short: "Wait for a run to end; exit 0 if COMPLETE, 1 if it failed or was canceled, 2 on timeout",
		Long: `Wait for a run to end, polling its state. Progress (state changes, elapsed time and,
where the server lists tasks, their number) goes to standard error; the final status goes
to standard output. Exit status: 0 when the run is COMPLETE; 1 when it ended otherwise
(EXECUTOR_ERROR, SYSTEM_ERROR, CANCELED, PREEMPTED) or the server refused the request;
2 when --timeout passed first. Server or network failures while waiting are retried.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return fmt.Errorf("--interval %s: must be more than 0", interval)
			}
			if timeout < 0 {
				return fmt.Errorf("--timeout %s: must be 0 (never) or more", timeout)
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			p := &progressPrinter{w: cmd.ErrOrStderr(), start: time.Now()}
			st, err := c.Wait(ctx, args[0], wesclient.WaitOptions{Interval: interval, Progress: p.print})
			if err != nil {
				if ctx.Err() == context.DeadlineExceeded && cmd.Context().Err() == nil {
					state := "in an unknown state"
					if p.last != "" {
						state = "still " + string(p.last)
					}
					return &exitError{code: exitTimeout, msg: fmt.Sprintf("run %s is %s after %s (--timeout)", args[0], state, timeout)}
				}
				return err
			}
			if err := o.writeStatus(cmd.OutOrStdout(), st); err != nil {
				return err
			}
			if st.State != api.StateCOMPLETE {
				return &exitError{code: exitRunFailed, msg: fmt.Sprintf("run %s ended %s", args[0], st.State)}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long (0 = never)")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between polls")
	return cmd
}

// progressPrinter prints wait's progress lines, each with the time since the start.
type progressPrinter struct {
	w     io.Writer
	start time.Time
	last  api.State // the last state seen, for the timeout message
}

func (p *progressPrinter) print(pr wesclient.Progress) {
	p.last = pr.State
	if pr.Retrying != nil {
		fmt.Fprintf(p.w, "%8s  %s (retrying)\n", p.elapsed(), pr.Retrying)
		return
	}
	line := fmt.Sprintf("%8s  %s", p.elapsed(), pr.State)
	if pr.Tasks >= 0 {
		line += fmt.Sprintf("  tasks: %d", pr.Tasks)
	}
	fmt.Fprintln(p.w, line)
}

func (p *progressPrinter) elapsed() string {
	d := time.Since(p.start)
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func newRunLogsCmd(o *runOptions) *cobra.Command {
	var stderr, follow bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "logs RUN_ID",
		Short: "Print the workflow engine's standard output (or --stderr) of a run",
		Long: `Print the workflow engine's standard output, or with --stderr its standard error,
as the run's run_log links them. With --follow, keep printing new text until the run ends
(servers that serve logs through Enclave's log endpoint only).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return fmt.Errorf("--interval %s: must be more than 0", interval)
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			stream := wesclient.Stdout
			if stderr {
				stream = wesclient.Stderr
			}
			return c.CopyLog(cmd.Context(), args[0], stream, cmd.OutOrStdout(), wesclient.LogOptions{
				Follow: follow, Interval: interval,
				Unfollowable: func() {
					fmt.Fprintln(cmd.ErrOrStderr(), "enclave: this server's log links cannot be followed; printing the log once")
				},
			})
		},
	}
	cmd.Flags().BoolVar(&stderr, "stderr", false, "print standard error instead of standard output")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new text until the run ends")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between reads with --follow")
	return cmd
}
