package wesclient_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/auth/authtest"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// tokenFunc is a TokenSource from a function.
type tokenFunc func(context.Context) (string, error)

func (f tokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// Tokens against a real Enclave that checks them with the real Dex: a token source is
// asked for every request to the server, a missing token is a typed 401, another user's
// run a 404, a source that fails stops the request before it is sent, and the token
// never goes to another origin.
func TestTokensWithDex(t *testing.T) {
	dex := authtest.NewDex(t)
	root := startServer(t, func(cfg *config.Config) {
		cfg.Auth.Mode = "oidc"
		cfg.Auth.OIDC.Issuer = dex.Issuer
		cfg.Auth.OIDC.Audience = []string{dex.ClientID, dex.CLIClientID}
		cfg.Auth.OIDC.Roles.Researcher = []string{authtest.ResearcherGroup}
		cfg.Auth.OIDC.Roles.Admin = []string{authtest.AdminGroup}
	})
	ctx := context.Background()
	rec := &recorder{}

	_, err := client(t, root, "", rec).AllRuns(ctx, 0)
	wantError(t, "no token", err, http.StatusUnauthorized, "")

	alice := dex.Token(t, "alice")
	var asked atomic.Int32
	c, err := wesclient.New(root, wesclient.WithHTTPClient(&http.Client{Transport: rec}),
		wesclient.WithTokenSource(tokenFunc(func(context.Context) (string, error) {
			asked.Add(1)
			return alice + "\n", nil // as read from a file: the newline is trimmed
		})))
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Submit(ctx, wesclient.RunRequest{WorkflowURL: "cohort-count-smk", WorkflowParams: map[string]any{"cohort": "cohort-demo"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunLog(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := asked.Load(); n != 2 {
		t.Errorf("the token source was asked %d times for 2 requests", n)
	}
	// Let the run end while the server is up: its job must not outlive the test.
	if _, err := c.Wait(ctx, id, wesclient.WaitOptions{Interval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	_, err = client(t, root, dex.Token(t, "bob"), nil).RunLog(ctx, id)
	wantError(t, "bob reading alice's run", err, http.StatusNotFound, id)

	// The token goes to the API's origin only: a link to the same server under another
	// host name is another origin.
	u, _ := url.Parse(root)
	other := "http://localhost:" + u.Port() + "/healthz"
	rec.take()
	for _, link := range []string{root + "/healthz", other} {
		var b bytes.Buffer
		if err := c.Fetch(ctx, link, &b); err != nil {
			t.Fatalf("fetch %s: %v", link, err)
		}
	}
	want := []string{u.Host + " Bearer " + alice, "localhost:" + u.Port() + " "}
	if got := rec.take(); !slices.Equal(got, want) {
		hide := strings.NewReplacer(alice, "<alice's token>") // the log keeps no token
		t.Errorf("requests (host, Authorization) %q; want %q", hide.Replace(strings.Join(got, "; ")), hide.Replace(strings.Join(want, "; ")))
	}

	// A token that cannot be had stops the request before it leaves.
	expired := errors.New("the login expired; log in again")
	for _, ts := range []wesclient.TokenSource{
		tokenFunc(func(context.Context) (string, error) { return "", expired }),
		wesclient.StaticToken("two words"),
	} {
		c, err := wesclient.New(root, wesclient.WithHTTPClient(&http.Client{Transport: rec}), wesclient.WithTokenSource(ts))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Status(ctx, id)
		var te *wesclient.TokenError
		if !errors.As(err, &te) || wesclient.StatusOf(err) != 0 {
			t.Errorf("status with a failing token source: %v; want a *TokenError", err)
		}
		if strings.Contains(err.Error(), "two words") {
			t.Errorf("the error %q shows the token", err)
		}
	}
	if got := rec.take(); len(got) != 0 {
		t.Errorf("requests sent without a token to send: %q", got)
	}
}
