package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/api"
)

// terminal reports whether a run in state s will not change again (as in WES 1.1).
func terminal(s api.State) bool {
	switch s {
	case api.StateCOMPLETE, api.StateEXECUTORERROR, api.StateSYSTEMERROR, api.StateCANCELED, api.StatePREEMPTED:
		return true
	}
	return false
}

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
			w := &waiter{c: c, id: args[0], interval: interval, progress: cmd.ErrOrStderr(), start: time.Now()}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			st, err := w.wait(ctx)
			if err != nil {
				if ctx.Err() == context.DeadlineExceeded && cmd.Context().Err() == nil {
					state := "in an unknown state"
					if w.last != "" {
						state = "still " + string(w.last)
					}
					return &exitError{code: exitTimeout, msg: fmt.Sprintf("run %s is %s after %s (--timeout)", args[0], state, timeout)}
				}
				return err
			}
			if err := writeStatus(cmd.OutOrStdout(), o, st); err != nil {
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

// waiter polls one run until it ends and reports progress.
type waiter struct {
	c        *wesClient
	id       string
	interval time.Duration
	progress io.Writer
	start    time.Time

	last      api.State // last state seen
	tasks     int       // last task count; -1 before the first
	shown     int       // task count of the last progress line
	noTasks   bool      // the server does not list tasks for this run
	taskCheck time.Time // when tasks were last counted
	lastErr   string    // last retried error shown, so a long outage prints once
}

// taskCheckEvery limits task counting, which pages through the whole list.
const taskCheckEvery = 5 * time.Second

func (w *waiter) wait(ctx context.Context) (api.RunStatus, error) {
	w.tasks, w.shown = -1, -1
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		st, err := w.c.status(ctx, w.id)
		switch {
		case ctx.Err() != nil:
			return api.RunStatus{}, ctx.Err()
		case err != nil:
			var ae *apiError
			if errors.As(err, &ae) && ae.Status < 500 {
				return api.RunStatus{}, err // a refusal does not get better by asking again
			}
			if msg := err.Error(); msg != w.lastErr {
				w.lastErr = msg
				fmt.Fprintf(w.progress, "%8s  %s (retrying)\n", w.elapsed(), msg)
			}
		default:
			w.lastErr = ""
			if terminal(st.State) {
				if w.tasks >= 0 { // a last count, so the final line is not stale
					w.taskCheck = time.Time{}
					w.countTasks(ctx, api.StateRUNNING)
				}
				w.report(st.State)
				return st, nil
			}
			w.countTasks(ctx, st.State)
			w.report(st.State)
		}
		select {
		case <-ctx.Done():
			return api.RunStatus{}, ctx.Err()
		case <-t.C:
		}
	}
}

// report prints a progress line when the state or the task count changed.
func (w *waiter) report(s api.State) {
	if s == w.last && w.tasks == w.shown {
		return
	}
	line := fmt.Sprintf("%8s  %s", w.elapsed(), s)
	if w.tasks >= 0 {
		line += fmt.Sprintf("  tasks: %d", w.tasks)
	}
	fmt.Fprintln(w.progress, line)
	w.last = s
	w.shown = w.tasks
}

func (w *waiter) elapsed() string {
	d := time.Since(w.start)
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// countTasks updates w.tasks while the run is running, at most every taskCheckEvery.
// A server that cannot list tasks (not all WES servers do) is not asked again.
func (w *waiter) countTasks(ctx context.Context, s api.State) {
	if w.noTasks || s != api.StateRUNNING || time.Since(w.taskCheck) < taskCheckEvery {
		return
	}
	w.taskCheck = time.Now()
	n, token := 0, ""
	for range 100 { // a bound against a server that never ends its pages
		page, err := w.c.tasks(ctx, w.id, 0, token)
		if err != nil {
			w.noTasks = true
			return
		}
		n += len(page.TaskLogs)
		if token = page.NextPageToken; token == "" {
			w.tasks = n
			return
		}
	}
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
			stream := "stdout"
			if stderr {
				stream = "stderr"
			}
			l := &logReader{c: c, id: args[0], stream: stream, follow: follow, interval: interval, out: cmd.OutOrStdout(), note: cmd.ErrOrStderr()}
			return l.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&stderr, "stderr", false, "print standard error instead of standard output")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new text until the run ends")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between reads with --follow")
	return cmd
}

// logReader prints one log stream of a run.
type logReader struct {
	c        *wesClient
	id       string
	stream   string
	follow   bool
	interval time.Duration
	out      io.Writer
	note     io.Writer
}

func (l *logReader) run(ctx context.Context) error {
	rl, err := l.c.runLog(ctx, l.id)
	if err != nil {
		return err
	}
	link := rl.RunLog.Stdout
	if l.stream == "stderr" {
		link = rl.RunLog.Stderr
	}
	if link != "" {
		u, err := url.Parse(link)
		if err != nil {
			return fmt.Errorf("the server's %s link is not a URL", l.stream)
		}
		u = l.c.base.ResolveReference(u)
		if s, ok := l.c.logEndpoint(u, l.id); !ok || s != l.stream {
			// Another server's kind of link: read it once, as it is.
			if l.follow {
				fmt.Fprintln(l.note, "enclave: this server's log links cannot be followed; printing the log once")
			}
			return l.c.fetch(ctx, u, l.out)
		}
	}
	var offset int64
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		ended := !l.follow
		if l.follow {
			st, err := l.c.status(ctx, l.id)
			if err != nil {
				return err
			}
			ended = terminal(st.State) // read once more after the end: that read gets the rest
		}
		text, next, err := l.c.readLog(ctx, l.id, l.stream, offset)
		if err != nil {
			return err
		}
		if _, err := l.out.Write(text); err != nil {
			return err
		}
		offset = next
		if ended {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
