package wesclient

import (
	"context"
	"errors"
	"time"

	"github.com/spe4hd/enclave/api"
)

// WaitOptions say how Wait polls and reports.
type WaitOptions struct {
	// Interval is the time between status polls (default 1s).
	Interval time.Duration
	// Progress, when set, is called whenever the state or the task count changes, and
	// once for each new kind of failure that Wait retries.
	Progress func(Progress)
}

// Progress is what Wait has seen of a run.
type Progress struct {
	State api.State // the last state seen; "" before the first answer
	Tasks int       // the run's task count, -1 while not known
	// Retrying is a failed poll that Wait retries (a network error or a 5xx answer);
	// nil in a report of a change.
	Retrying error
}

// taskCheckEvery limits task counting, which pages through the whole task list.
const taskCheckEvery = 5 * time.Second

// Wait polls run id until it is in a terminal state and returns its last status. A
// failed poll is retried when asking again may help (network errors, 5xx answers); a
// refusal (4xx) or a token that cannot be had ends the wait with that error, and so
// does ctx (give it a deadline to bound the wait). While the run is RUNNING its tasks
// are counted every few seconds, where the server lists them.
func (c *Client) Wait(ctx context.Context, id string, opt WaitOptions) (api.RunStatus, error) {
	w := waiter{c: c, id: id, opt: opt, seen: Progress{Tasks: -1}, shown: Progress{Tasks: -1}}
	if w.opt.Interval <= 0 {
		w.opt.Interval = time.Second
	}
	return w.wait(ctx)
}

// waiter is the state of one Wait.
type waiter struct {
	c         *Client
	id        string
	opt       WaitOptions
	seen      Progress  // what was last seen
	shown     Progress  // what was last reported
	noTasks   bool      // the server does not list tasks for this run
	taskCheck time.Time // when tasks were last counted
	lastErr   string    // the last retried failure reported, so a long outage reports once
}

func (w *waiter) wait(ctx context.Context) (api.RunStatus, error) {
	t := time.NewTicker(w.opt.Interval)
	defer t.Stop()
	for {
		st, err := w.c.Status(ctx, w.id)
		switch {
		case ctx.Err() != nil:
			return api.RunStatus{}, ctx.Err()
		case err != nil:
			var te *TokenError
			if s := StatusOf(err); (s > 0 && s < 500) || errors.As(err, &te) {
				return api.RunStatus{}, err // a refusal does not get better by asking again
			}
			if msg := err.Error(); msg != w.lastErr {
				w.lastErr = msg
				w.report(Progress{State: w.seen.State, Tasks: w.seen.Tasks, Retrying: err})
			}
		default:
			w.lastErr = ""
			if Terminal(st.State) {
				if w.seen.Tasks >= 0 { // a last count, so the final report is not stale
					w.taskCheck = time.Time{}
					w.countTasks(ctx, api.StateRUNNING)
				}
				w.changed(st.State)
				return st, nil
			}
			w.countTasks(ctx, st.State)
			w.changed(st.State)
		}
		select {
		case <-ctx.Done():
			return api.RunStatus{}, ctx.Err()
		case <-t.C:
		}
	}
}

// changed records state s and reports when it or the task count changed.
func (w *waiter) changed(s api.State) {
	w.seen.State = s
	if w.seen != w.shown {
		w.shown = w.seen
		w.report(w.seen)
	}
}

func (w *waiter) report(p Progress) {
	if w.opt.Progress != nil {
		w.opt.Progress(p)
	}
}

// countTasks updates the task count while the run is RUNNING, at most every
// taskCheckEvery. A server that cannot list tasks (not all WES servers do) is not
// asked again.
func (w *waiter) countTasks(ctx context.Context, s api.State) {
	if w.noTasks || s != api.StateRUNNING || time.Since(w.taskCheck) < taskCheckEvery {
		return
	}
	w.taskCheck = time.Now()
	tasks, err := w.c.AllTasks(ctx, w.id)
	if err != nil {
		w.noTasks = true
		return
	}
	w.seen.Tasks = len(tasks)
}
