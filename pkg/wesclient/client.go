package wesclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spe4hd/enclave/api"
)

// BasePath is where the WES 1.1 API lives on a server; New adds it to a URL without a path.
const BasePath = "/ga4gh/wes/v1"

// Client talks to one WES server. It is safe for concurrent use.
type Client struct {
	api    *api.Client
	base   *url.URL // the API base, e.g. http://127.0.0.1:8080/ga4gh/wes/v1
	tokens TokenSource
	hc     *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests through hc instead of the default client, which has no
// overall timeout (uploads and downloads can be long) but gives up on a server that
// accepts a request and sends no answer headers within two minutes.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTokenSource authenticates every request to the server with the bearer token ts
// gives. Without it requests carry no Authorization header.
func WithTokenSource(ts TokenSource) Option { return func(c *Client) { c.tokens = ts } }

// WithToken is WithTokenSource(StaticToken(token)).
func WithToken(token string) Option { return WithTokenSource(StaticToken(token)) }

// New returns a client of the WES API at rawURL. A URL without a path gets BasePath; any
// other path is taken as the API base as it is. The URL may carry no user information
// (a token belongs in a TokenSource, where it never shows in a message), query or fragment.
func New(rawURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q is not an http(s) URL like http://127.0.0.1:8080", rawURL)
	}
	if u.User != nil {
		return nil, errors.New("the server URL must not carry a user name or password: give a bearer token instead")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server URL %q must not have a query or fragment", rawURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if u.Path == "" {
		u.Path = BasePath
	}
	u.RawPath = ""
	c := &Client{base: u}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient()
	}
	c.api, err = api.NewClient(u.String(), api.WithHTTPClient(c.hc), api.WithRequestEditorFn(c.authorize))
	if err != nil {
		return nil, err
	}
	return c, nil
}

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 2 * time.Minute
	return &http.Client{Transport: tr}
}

// Base returns the API base URL, e.g. http://127.0.0.1:8080/ga4gh/wes/v1.
func (c *Client) Base() *url.URL {
	u := *c.base
	return &u
}

// authorize adds the bearer token to req, but only for requests to the API's own origin:
// a link the server returns must not carry the token elsewhere.
func (c *Client) authorize(ctx context.Context, req *http.Request) error {
	if c.tokens == nil || !c.sameOrigin(req.URL) {
		return nil
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return &TokenError{Err: err}
	}
	tok = strings.TrimSpace(tok) // a token read from a file often ends in a newline
	if strings.ContainsAny(tok, " \t\r\n") {
		return &TokenError{Err: errors.New("the token contains white space; give the bare token")}
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

func (c *Client) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}
