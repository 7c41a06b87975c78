// Package authtest gives tests the real OIDC provider that `make test` starts
// (scripts/test-services.sh runs Dex on loopback with the users of scripts/dex.sh) and
// tokens from it, obtained through Dex's token endpoint with the password grant.
package authtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/auth"
)

// Environment variables scripts/test-services.sh sets when it has started Dex.
const (
	IssuerEnv       = "ENCLAVE_TEST_DEX_ISSUER"
	ClientIDEnv     = "ENCLAVE_TEST_DEX_CLIENT_ID"
	ClientSecretEnv = "ENCLAVE_TEST_DEX_CLIENT_SECRET"
	PasswordEnv     = "ENCLAVE_TEST_DEX_PASSWORD"
	CLIClientIDEnv  = "ENCLAVE_TEST_DEX_CLI_CLIENT_ID"
)

// The groups scripts/dex.sh gives its users: alice and bob are researchers, carol a data
// controller, dave an admin; erin has no group.
const (
	ResearcherGroup     = "enclave-researchers"
	DataControllerGroup = "enclave-data-controllers"
	AdminGroup          = "enclave-admins"
)

// Dex is the running test provider. ClientID is a confidential client (with
// ClientSecret), CLIClientID a public one that can use the device flow.
type Dex struct {
	Issuer, ClientID, ClientSecret, CLIClientID, Password string
}

// NewDex returns the Dex `make test` started. Without it the test is skipped with the
// reason, except under CI (CI=true), where it fails: CI must not skip these tests.
func NewDex(tb testing.TB) *Dex {
	tb.Helper()
	d := &Dex{Issuer: os.Getenv(IssuerEnv), ClientID: os.Getenv(ClientIDEnv),
		ClientSecret: os.Getenv(ClientSecretEnv), CLIClientID: os.Getenv(CLIClientIDEnv), Password: os.Getenv(PasswordEnv)}
	if d.Issuer == "" || d.ClientID == "" || d.CLIClientID == "" {
		msg := fmt.Sprintf("no Dex OIDC provider: %s is not set (run `make test`, or scripts/test-services.sh go test ...; "+
			"scripts/dex.sh build builds Dex once)", IssuerEnv)
		if os.Getenv("CI") != "" {
			tb.Fatal("a real Dex is required under CI: " + msg)
		}
		tb.Skip("SKIP: " + msg)
	}
	return d
}

// Config returns an auth.Config for this Dex with the test users' groups mapped to roles.
func (d *Dex) Config() auth.Config {
	return auth.Config{
		Issuer:    d.Issuer,
		Audiences: []string{d.ClientID, d.CLIClientID},
		Roles: auth.RoleMap{
			Researcher:     []string{ResearcherGroup},
			DataController: []string{DataControllerGroup},
			Admin:          []string{AdminGroup},
		},
		DiscoveryTimeout: 10 * time.Second,
	}
}

// Token returns an access token for user (alice, bob, carol, dave or erin) from Dex's
// token endpoint, with the groups scope.
func (d *Dex) Token(tb testing.TB, user string) string {
	tb.Helper()
	tok, err := d.PasswordGrant(context.Background(), user+"@example.com", d.Password, "openid email profile groups")
	if err != nil {
		tb.Fatalf("token for %s from Dex: %v", user, err)
	}
	return tok
}

// PasswordGrant asks Dex's token endpoint for an access token.
func (d *Dex) PasswordGrant(ctx context.Context, username, password, scope string) (string, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	meta, err := auth.Discover(ctx, hc, d.Issuer)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}, "scope": {scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(d.ClientID), url.QueryEscape(d.ClientSecret))
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %d (error %q)", resp.StatusCode, out.Error)
	}
	return out.AccessToken, nil
}
