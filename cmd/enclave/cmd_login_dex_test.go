package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/internal/app"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/auth"
	"github.com/spe4hd/enclave/pkg/auth/authtest"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/wes"
)

// TestLoginWithDex logs in at the real Dex with both flows and checks that the stored
// tokens are accepted by Enclave's authenticator as the right user.
func TestLoginWithDex(t *testing.T) {
	t.Parallel()
	dex := authtest.NewDex(t)
	ctx := context.Background()
	a, err := auth.New(ctx, dex.Config(), nil)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(t *testing.T, dir, wantEmail, wantRole string) {
		t.Helper()
		tf := readTokenFile(t, dir)
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tf.AccessToken)
		p, err := a.Authenticate(r)
		if err != nil || p.Email != wantEmail || !p.HasRole(wantRole) {
			t.Errorf("stored token: %+v %v", p, err)
		}
	}

	t.Run("password grant", func(t *testing.T) {
		dir := t.TempDir()
		stderr := &syncWriter{}
		out, err := runLogin(ctx, []string{"XDG_CONFIG_HOME=" + dir, "ENCLAVE_CLIENT_SECRET=" + dex.ClientSecret}, dex.Password+"\n", stderr,
			"--issuer", dex.Issuer, "--client-id", dex.ClientID, "--username", "carol@example.com", "--password-stdin",
			"--scope", "openid email profile groups")
		if err != nil {
			t.Fatalf("login: %v %s", err, stderr)
		}
		if !strings.Contains(out, "logged in as carol@example.com") {
			t.Errorf("stdout %q", out)
		}
		verify(t, dir, "carol@example.com", wes.RoleDataController)
	})

	t.Run("device flow", func(t *testing.T) {
		dir := t.TempDir()
		stderr := &syncWriter{}
		done := make(chan error, 1)
		go func() {
			_, err := runLogin(ctx, []string{"XDG_CONFIG_HOME=" + dir}, "", stderr,
				"--issuer", dex.Issuer, "--client-id", dex.CLIClientID, "--scope", "openid email profile groups")
			done <- err
		}()
		// Wait for the CLI to print the address, then do the browser part.
		link := regexp.MustCompile(`\(or open (\S+)\)`)
		var m []string
		deadline := time.Now().Add(20 * time.Second)
		for m = link.FindStringSubmatch(stderr.String()); m == nil; m = link.FindStringSubmatch(stderr.String()) {
			select {
			case err := <-done:
				t.Fatalf("login ended early: %v %s", err, stderr)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no device link printed: %q", stderr)
			}
		}
		if err := dex.ApproveDevice(ctx, m[1], "dave"); err != nil {
			t.Fatalf("approving in Dex: %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("login: %v %s", err, stderr)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("login did not finish after the approval")
		}
		verify(t, dir, "dave@example.com", wes.RoleAdmin)
	})
}

// TestServerWithDexFromConfigFile starts the API from a configuration file naming Dex (so
// auth.mode is oidc by default) and uses it through the CLI with tokens from enclave login.
func TestServerWithDexFromConfigFile(t *testing.T) {
	t.Parallel()
	dex := authtest.NewDex(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "enclave.yaml")
	yaml := fmt.Sprintf(`server: {addr: "127.0.0.1:0"}
redis: {addr: %q, key_prefix: %q}
worker: {in_process: false}
data_dir: %q
zone: {mode: open}
auth:
  oidc:
    issuer: %q
    audience: [%q]
    roles:
      researcher: [%q]
      admin: [%q]
`, testutil.RedisAddr(t), testutil.UniqueName("cli-oidc-")+":", filepath.Join(dir, "data"), dex.Issuer, dex.ClientID,
		authtest.ResearcherGroup, authtest.AdminGroup)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.Mode != "oidc" {
		t.Fatalf("auth.mode %q with a config file", cfg.Auth.Mode)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Roles{API: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + a.Addr()

	login := func(user string) []string {
		home := t.TempDir()
		env := []string{"XDG_CONFIG_HOME=" + home, "ENCLAVE_URL=" + url, "ENCLAVE_CLIENT_SECRET=" + dex.ClientSecret}
		if _, err := runLogin(ctx, env, dex.Password+"\n", nil, "--issuer", dex.Issuer, "--client-id", dex.ClientID,
			"--username", user+"@example.com", "--password-stdin", "--scope", "openid email profile groups"); err != nil {
			t.Fatalf("login %s: %v", user, err)
		}
		return env
	}
	if _, errOut, code := cli(t, []string{"HOME=" + dir, "ENCLAVE_URL=" + url}, "run", "list"); code == 0 || !strings.Contains(errOut, "401") {
		t.Errorf("run list without a token: exit %d %q", code, errOut)
	}
	if out, errOut, code := cli(t, login("alice"), "run", "list", "-o", "json"); code != 0 || !strings.Contains(out, `"runs"`) {
		t.Errorf("run list as alice: exit %d %q %q", code, out, errOut)
	}
	if _, errOut, code := cli(t, login("erin"), "run", "list"); code == 0 || !strings.Contains(errOut, "403") {
		t.Errorf("run list as erin (no role): exit %d %q", code, errOut)
	}
}
