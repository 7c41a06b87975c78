package tes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	tesapi "github.com/spe4hd/enclave/api/tes"
	"github.com/spe4hd/enclave/executors/internal/keylock"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Executor is the tes executor. It keeps no job state in memory: the TES server and the
// handle hold everything, so any instance configured for the same server can take a job over.
type Executor struct {
	cfg    Config
	server string // the TES API's base URL without a trailing slash: the handles' server identity
	log    *slog.Logger
	api    *tesapi.ClientWithResponses

	locks keylock.Set // per job id: serialises Submits and deliveries in this process
}

// New validates cfg and builds the client. It does not contact the server: a TES server
// that is down when Enclave starts makes jobs wait (EUNAVAILABLE), not the start fail.
func New(cfg Config) (*Executor, error) {
	cfg, u, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Executor{cfg: cfg, server: u.String(), log: cfg.Logger.With("executor", Name)}
	if insecureCredentials(cfg, u) {
		e.log.Warn("TES credentials are sent over plain http to a host that is not loopback; use https", "url", e.server)
	}
	e.api, err = tesapi.NewClientWithResponses(e.server,
		tesapi.WithHTTPClient(cfg.HTTPClient), tesapi.WithRequestEditorFn(e.editRequest))
	if err != nil {
		return nil, fmt.Errorf("tes executor: URL %q: %w", cfg.URL, err)
	}
	return e, nil
}

// Name returns "tes".
func (e *Executor) Name() string { return Name }

// editRequest adds the credentials and drops empty query parameters: the generated client
// sends every optional parameter, and an empty "state=" is not a TES state.
func (e *Executor) editRequest(_ context.Context, req *http.Request) error {
	switch {
	case e.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+e.cfg.Token)
	case e.cfg.Username != "":
		req.SetBasicAuth(e.cfg.Username, e.cfg.Password)
	}
	q := req.URL.Query()
	for k, vs := range q {
		if len(vs) == 1 && vs[0] == "" {
			q.Del(k)
		}
	}
	req.URL.RawQuery = q.Encode()
	return nil
}

// unreachable wraps a failed request: the server could not be reached or did not answer.
func unreachable(err error) error {
	msg := "the TES server cannot be reached; try again later"
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "the TES server did not answer in time; try again later"
	}
	return &wes.Error{Code: wes.EUNAVAILABLE, Message: msg, Err: err}
}

// httpError maps an unexpected HTTP answer. The server's text goes to the log only: it
// may name paths inside the zone.
func httpError(code int, body []byte, what string) error {
	if len(body) > 300 {
		body = body[:300]
	}
	cause := fmt.Errorf("HTTP %d: %s", code, body)
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return wes.Internal(cause, "the TES server refused the executor's credentials (HTTP %d) while trying to %s", code, what)
	case code == http.StatusBadRequest:
		return &wes.Error{Code: wes.EINVALID, Message: fmt.Sprintf("the TES server refused to %s (HTTP 400); the server log has the details", what), Err: cause}
	case code == http.StatusTooManyRequests || code >= 500:
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: fmt.Sprintf("the TES server failed to %s (HTTP %d); try again later", what, code), Err: cause}
	}
	return wes.Internal(cause, "the TES server answered HTTP %d while trying to %s", code, what)
}

// errNotFound is what getTask returns for a task the server does not know.
var errNotFound = errors.New("task not found")

// getTask reads one task in the given view.
func (e *Executor) getTask(ctx context.Context, id string, view tesapi.GetTaskParamsView) (*tesapi.TesTask, error) {
	res, err := e.api.GetTaskWithResponse(ctx, id, &tesapi.GetTaskParams{View: view})
	if err != nil {
		return nil, unreachable(err)
	}
	switch {
	case res.StatusCode() == http.StatusNotFound:
		return nil, errNotFound
	case res.StatusCode() != http.StatusOK:
		return nil, httpError(res.StatusCode(), res.Body, "read a task")
	case res.JSON200 == nil:
		return nil, wes.Internal(nil, "the TES server's task is not JSON")
	}
	return res.JSON200, nil
}

// listTasks pages through the tasks that have the tag key=value, calling each for every
// page's tasks until it returns false or the list ends.
func (e *Executor) listTasks(ctx context.Context, key, value string, each func([]tesapi.TesTask) bool) error {
	p := tesapi.ListTasksParams{TagKey: []string{key}, TagValue: []string{value},
		PageSize: int32(e.cfg.PageSize), View: tesapi.ListTasksParamsViewBASIC}
	seen := map[string]bool{}
	for {
		res, err := e.api.ListTasksWithResponse(ctx, &p)
		if err != nil {
			return unreachable(err)
		}
		if res.StatusCode() != http.StatusOK || res.JSON200 == nil {
			return httpError(res.StatusCode(), res.Body, "list tasks")
		}
		if !each(res.JSON200.Tasks) {
			return nil
		}
		next := res.JSON200.NextPageToken
		if next == "" || seen[next] || len(res.JSON200.Tasks) == 0 {
			return nil
		}
		seen[next] = true // a server that hands out a token twice would loop forever
		p.PageToken = next
	}
}

// TaskURL returns the URL of the job's TES task (GET it for the task), for the tes_uri of
// WES task logs. It needs no executor: the handle names its server.
func TaskURL(h wes.Handle) (string, error) {
	d, err := decodeHandle(h)
	if err != nil {
		return "", err
	}
	return d.Server + "/tasks/" + url.PathEscape(d.TaskID), nil
}
