package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/api"
)

// wesBasePath is where the GA4GH WES 1.1 API lives on a server, when --url names only the
// server.
const wesBasePath = "/ga4gh/wes/v1"

// wesClient is the CLI's view of a WES server: the generated client, the API base URL and
// one way of turning error answers into errors. The token only ever travels in the
// Authorization header, never in a URL or a message.
type wesClient struct {
	api   *api.ClientWithResponses
	base  *url.URL // the API base, e.g. http://127.0.0.1:8080/ga4gh/wes/v1
	token string
	hc    *http.Client
}

// newWESClient returns a client for the WES API at rawURL. A URL without a path gets the
// standard base path /ga4gh/wes/v1; any other path is taken as the API base as it is.
func newWESClient(rawURL, token string, hc *http.Client) (*wesClient, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q is not an http(s) URL like http://127.0.0.1:8080", rawURL)
	}
	if u.User != nil {
		return nil, errors.New("--url must not carry a user name or password: give a token with --token or $ENCLAVE_TOKEN")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--url %q must not have a query or fragment", rawURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if u.Path == "" {
		u.Path = wesBasePath
	}
	u.RawPath = ""
	token = strings.TrimSpace(token) // a token read from a file often ends in a newline
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, errors.New("the token contains white space; give the bare token")
	}
	c := &wesClient{base: u, token: token, hc: hc}
	c.api, err = api.NewClientWithResponses(u.String(), api.WithHTTPClient(hc),
		api.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			c.authorize(req)
			return nil
		}))
	if err != nil {
		return nil, err
	}
	return c, nil
}

// authorize adds the bearer token to req, but only for requests to the API's own origin:
// a link the server returns must not carry the token elsewhere.
func (c *wesClient) authorize(req *http.Request) {
	if c.token != "" && c.sameOrigin(req.URL) {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

func (c *wesClient) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// apiError is an answer other than 2xx. Msg is the server's ErrorResponse.msg, when the
// body was one.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// check returns nil for a 2xx answer and an *apiError otherwise.
func check(hr *http.Response, body []byte) error {
	if hr.StatusCode >= 200 && hr.StatusCode < 300 {
		return nil
	}
	e := &apiError{Status: hr.StatusCode}
	var er api.ErrorResponse
	if json.Unmarshal(body, &er) == nil {
		e.Msg = er.Msg
	}
	return e
}

// decoded returns v, or an error when a 2xx answer did not carry the expected JSON.
func decoded[T any](v *T, hr *http.Response, body []byte) (T, error) {
	if err := check(hr, body); err != nil {
		var zero T
		return zero, err
	}
	if v == nil {
		var zero T
		return zero, fmt.Errorf("server answered %d with %q, not the expected JSON", hr.StatusCode, hr.Header.Get("Content-Type"))
	}
	return *v, nil
}

// submit posts a run with Idempotency-Key key, so a retry of the same submission (same
// key) cannot make a second run.
func (c *wesClient) submit(ctx context.Context, key, contentType string, body io.Reader) (string, error) {
	r, err := c.api.RunWorkflowWithBodyWithResponse(ctx, contentType, body, func(_ context.Context, req *http.Request) error {
		req.Header.Set("Idempotency-Key", key)
		return nil
	})
	if err != nil {
		return "", err
	}
	id, err := decoded(r.JSON200, r.HTTPResponse, r.Body)
	if err == nil && id.RunId == "" {
		err = errors.New("server answered without a run_id")
	}
	return id.RunId, err
}

func pageParams(size int64) *api.PageSize {
	if size <= 0 {
		return nil // the server's default
	}
	return &size
}

func (c *wesClient) listRuns(ctx context.Context, size int64, token string) (api.RunListResponse, error) {
	r, err := c.api.ListRunsWithResponse(ctx, &api.ListRunsParams{PageSize: pageParams(size), PageToken: token})
	if err != nil {
		return api.RunListResponse{}, err
	}
	return decoded(r.JSON200, r.HTTPResponse, r.Body)
}

func (c *wesClient) status(ctx context.Context, id string) (api.RunStatus, error) {
	r, err := c.api.GetRunStatusWithResponse(ctx, id)
	if err != nil {
		return api.RunStatus{}, err
	}
	return decoded(r.JSON200, r.HTTPResponse, r.Body)
}

func (c *wesClient) runLog(ctx context.Context, id string) (api.RunLog, error) {
	r, err := c.api.GetRunLogWithResponse(ctx, id)
	if err != nil {
		return api.RunLog{}, err
	}
	return decoded(r.JSON200, r.HTTPResponse, r.Body)
}

func (c *wesClient) cancel(ctx context.Context, id string) (string, error) {
	r, err := c.api.CancelRunWithResponse(ctx, id)
	if err != nil {
		return "", err
	}
	v, err := decoded(r.JSON200, r.HTTPResponse, r.Body)
	if err == nil && v.RunId == "" {
		v.RunId = id
	}
	return v.RunId, err
}

func (c *wesClient) tasks(ctx context.Context, id string, size int64, token string) (api.TaskListResponse, error) {
	r, err := c.api.ListTasksWithResponse(ctx, id, &api.ListTasksParams{PageSize: pageParams(size), PageToken: token})
	if err != nil {
		return api.TaskListResponse{}, err
	}
	return decoded(r.JSON200, r.HTTPResponse, r.Body)
}

// logEndpoint reports whether link is this server's own log endpoint for run id, the one
// that takes an offset (an Enclave extension), and which stream it serves.
func (c *wesClient) logEndpoint(link *url.URL, id string) (stream string, ok bool) {
	if !c.sameOrigin(link) {
		return "", false
	}
	for _, s := range []string{"stdout", "stderr"} {
		if path.Clean(link.Path) == c.base.Path+"/runs/"+id+"/logs/"+s {
			return s, true
		}
	}
	return "", false
}

// readLog reads stream from offset through the log endpoint and returns the text and the
// offset of the next read.
func (c *wesClient) readLog(ctx context.Context, id, stream string, offset int64) ([]byte, int64, error) {
	r, err := c.api.GetRunLogStreamWithResponse(ctx, id, api.GetRunLogStreamParamsStream(stream), &api.GetRunLogStreamParams{Offset: offset})
	if err != nil {
		return nil, 0, err
	}
	if err := check(r.HTTPResponse, r.Body); err != nil {
		return nil, 0, err
	}
	next := offset + int64(len(r.Body))
	if h := r.HTTPResponse.Header.Get("X-Enclave-Next-Offset"); h != "" {
		if n, err := strconv.ParseInt(h, 10, 64); err == nil && n >= offset {
			next = n
		}
	}
	return r.Body, next, nil
}

// fetch GETs a log link another server gave, whole, into w. The token goes along only to
// the API's own origin.
func (c *wesClient) fetch(ctx context.Context, link *url.URL, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link.String(), nil)
	if err != nil {
		return err
	}
	c.authorize(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return check(resp, body)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// storedToken returns the access token `enclave login` saved, or "" when there is none.
// A file others can read or change is refused rather than used, and an expired token
// is an error that says to log in again (sending it would only earn a 401).
func storedToken(g *globals) (string, error) {
	path, err := tokenPath(g)
	if err != nil {
		return "", nil // no home: no stored token
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s is accessible to other users (mode %v); run chmod 600 on it or enclave login again", path, fi.Mode().Perm())
	}
	var tf tokenFile
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&tf); err != nil || tf.AccessToken == "" {
		return "", fmt.Errorf("token file %s is not one enclave login wrote; run enclave login again", path)
	}
	if !tf.Expiry.IsZero() && time.Now().After(tf.Expiry) {
		return "", fmt.Errorf("the token from enclave login expired at %s; run enclave login again", tf.Expiry.Local().Format(time.RFC3339))
	}
	return tf.AccessToken, nil
}
