package wesclient

import (
	"context"

	"github.com/spe4hd/enclave/api"
)

// The WES 1.1 operations on runs and tasks.

// ServiceInfo returns what the server runs: workflow types, engines, state counts.
func (c *Client) ServiceInfo(ctx context.Context) (api.ServiceInfo, error) {
	return decode[api.ServiceInfo](c.api.GetServiceInfo(ctx))
}

// pageSize is the page_size parameter: nil, the server's default, for size <= 0.
func pageSize(size int64) *api.PageSize {
	if size <= 0 {
		return nil
	}
	return &size
}

// ListRuns returns one page of the caller's runs, newest first: size runs (<= 0: the
// server's default) from the page token ("" for the first page).
func (c *Client) ListRuns(ctx context.Context, size int64, token string) (api.RunListResponse, error) {
	return c.ListRunsFiltered(ctx, size, token, RunFilter{})
}

// RunFilter narrows ListRunsFiltered (Enclave extensions); zero fields filter nothing.
type RunFilter struct {
	State    string
	Workflow string
	// Review "pending" lists the review queue: runs with outputs waiting for a decision.
	Review string
	// Owner lists one user's runs (data controllers and administrators).
	Owner string
	// Tags are key=value pairs every run listed carries.
	Tags []string
}

// ListRunsFiltered is ListRuns narrowed by f. A filtered page may hold fewer runs than
// size, even none, and still have a next page token.
func (c *Client) ListRunsFiltered(ctx context.Context, size int64, token string, f RunFilter) (api.RunListResponse, error) {
	return decode[api.RunListResponse](c.api.ListRuns(ctx, &api.ListRunsParams{PageSize: pageSize(size), PageToken: token,
		State: f.State, Workflow: f.Workflow, Review: f.Review, Owner: f.Owner, Tag: f.Tags}))
}

// AllRuns returns every run the caller may see, following the pages.
func (c *Client) AllRuns(ctx context.Context, size int64) ([]api.RunSummary, error) {
	runs, _, err := FollowPages("", true, "page token", func(t string) ([]api.RunSummary, string, error) {
		p, err := c.ListRuns(ctx, size, t)
		return p.Runs, p.NextPageToken, err
	})
	return runs, err
}

// RunLog returns everything the server tells the caller about run id.
func (c *Client) RunLog(ctx context.Context, id string) (api.RunLog, error) {
	return decode[api.RunLog](c.api.GetRunLog(ctx, id))
}

// Status returns run id's state.
func (c *Client) Status(ctx context.Context, id string) (api.RunStatus, error) {
	return decode[api.RunStatus](c.api.GetRunStatus(ctx, id))
}

// Cancel asks the server to stop run id and returns the id it answered with.
func (c *Client) Cancel(ctx context.Context, id string) (string, error) {
	v, err := decode[api.RunId](c.api.CancelRun(ctx, id))
	return orID(v, id), err
}

// Delete removes a finished run's files (work directory, engine logs, released
// outputs); its record and audit trail stay. An Enclave extension.
func (c *Client) Delete(ctx context.Context, id string) (string, error) {
	v, err := decode[api.RunId](c.api.DeleteRun(ctx, id))
	return orID(v, id), err
}

// orID is the run id an answer names, or id when it names none.
func orID(v api.RunId, id string) string {
	if v.RunId == "" {
		return id
	}
	return v.RunId
}

// ListTasks returns one page of run id's tasks, as ListRuns pages.
func (c *Client) ListTasks(ctx context.Context, id string, size int64, token string) (api.TaskListResponse, error) {
	return decode[api.TaskListResponse](c.api.ListTasks(ctx, id, &api.ListTasksParams{PageSize: pageSize(size), PageToken: token}))
}

// AllTasks returns every task of run id, following the pages.
func (c *Client) AllTasks(ctx context.Context, id string) ([]api.TaskLog, error) {
	tasks, _, err := FollowPages("", true, "page token", func(t string) ([]api.TaskLog, string, error) {
		p, err := c.ListTasks(ctx, id, 0, t)
		return p.TaskLogs, p.NextPageToken, err
	})
	return tasks, err
}

// Task returns one task of run id.
func (c *Client) Task(ctx context.Context, id, taskID string) (api.TaskLog, error) {
	return decode[api.TaskLog](c.api.GetTask(ctx, id, taskID))
}

// Terminal reports whether a run in state s will not change again (as in WES 1.1).
func Terminal(s api.State) bool {
	switch s {
	case api.StateCOMPLETE, api.StateEXECUTORERROR, api.StateSYSTEMERROR, api.StateCANCELED, api.StatePREEMPTED:
		return true
	}
	return false
}
