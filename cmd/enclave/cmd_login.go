package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/pkg/auth"
)

// loginOptions are the flags of `enclave login`.
type loginOptions struct {
	g             *globals
	issuer        string
	clientID      string
	clientSecret  string
	username      string
	passwordStdin bool
	scope         string
	hc            *http.Client
}

func newLoginCmd(g *globals) *cobra.Command {
	o := &loginOptions{g: g, hc: &http.Client{Timeout: 30 * time.Second}}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in at the OIDC provider and store the token `enclave run` uses",
		Long: `Log in at the OIDC provider (LS-Login, Dex, ...) and store the access token in
$XDG_CONFIG_HOME/enclave/token.json (mode 0600), where ` + "`enclave run`" + ` finds it when neither
--token nor $ENCLAVE_TOKEN is given.

With --username the password grant is used (the password is read from stdin with
--password-stdin, never from a flag). Otherwise the device flow is used if the provider
offers it: open the printed address in any browser and enter the code.

--issuer defaults to $ENCLAVE_AUTH_OIDC_ISSUER, --client-id to $ENCLAVE_AUTH_OIDC_CLIENT_ID,
--client-secret to $ENCLAVE_CLIENT_SECRET (prefer the variable: command lines are visible
to other users). The token is never printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.issuer, "issuer", "", "OIDC issuer URL (default $ENCLAVE_AUTH_OIDC_ISSUER)")
	f.StringVar(&o.clientID, "client-id", "", "OAuth client id (default $ENCLAVE_AUTH_OIDC_CLIENT_ID)")
	f.StringVar(&o.clientSecret, "client-secret", "", "OAuth client secret, for confidential clients (default $ENCLAVE_CLIENT_SECRET)")
	f.StringVar(&o.username, "username", "", "log in with the password grant as this user")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	f.StringVar(&o.scope, "scope", "openid profile email", "scopes to ask for (space-separated)")
	return cmd
}

func (o *loginOptions) run(cmd *cobra.Command) error {
	if o.issuer == "" {
		o.issuer = o.g.getenv("ENCLAVE_AUTH_OIDC_ISSUER")
	}
	if o.clientID == "" {
		o.clientID = o.g.getenv("ENCLAVE_AUTH_OIDC_CLIENT_ID")
	}
	if o.clientSecret == "" {
		o.clientSecret = o.g.getenv("ENCLAVE_CLIENT_SECRET")
	}
	switch {
	case o.issuer == "":
		return errors.New("--issuer is required (or $ENCLAVE_AUTH_OIDC_ISSUER)")
	case o.clientID == "":
		return errors.New("--client-id is required (or $ENCLAVE_AUTH_OIDC_CLIENT_ID)")
	case o.username != "" && !o.passwordStdin:
		return errors.New("--username needs --password-stdin: the password is read from stdin, never from a flag")
	case o.username == "" && o.passwordStdin:
		return errors.New("--password-stdin needs --username")
	}
	path, err := tokenPath(o.g)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	meta, err := auth.Discover(ctx, o.hc, o.issuer)
	if err != nil {
		return err
	}
	var tr *tokenResponse
	switch {
	case o.username != "":
		pw, err := readPassword(cmd.InOrStdin())
		if err != nil {
			return err
		}
		tr, err = o.token(ctx, meta.TokenEndpoint, url.Values{
			"grant_type": {"password"}, "username": {o.username}, "password": {pw}, "scope": {o.scope}})
		if err != nil {
			return err
		}
	case meta.DeviceAuthorizationEndpoint != "":
		if tr, err = o.deviceFlow(ctx, cmd.ErrOrStderr(), meta); err != nil {
			return err
		}
	default:
		return fmt.Errorf("the provider %s offers no device flow; log in with --username and --password-stdin", o.issuer)
	}
	tf := tokenFile{Issuer: o.issuer, ClientID: o.clientID, AccessToken: tr.AccessToken, TokenType: tr.TokenType}
	if tr.ExpiresIn > 0 {
		tf.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second).UTC().Truncate(time.Second)
	}
	if err := saveToken(path, tf); err != nil {
		return err
	}
	who := tokenSubject(tr.AccessToken)
	msg := fmt.Sprintf("logged in at %s", o.issuer)
	if who != "" {
		msg = fmt.Sprintf("logged in as %s at %s", who, o.issuer)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s; token saved to %s", msg, path)
	if !tf.Expiry.IsZero() {
		fmt.Fprintf(cmd.OutOrStdout(), ", valid until %s", tf.Expiry.Local().Format(time.RFC3339))
	}
	fmt.Fprintln(cmd.OutOrStdout())
	return nil
}

// readPassword reads the first line of r.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("--password-stdin: stdin holds no password")
	}
	return pw, nil
}

// tokenSubject returns the email or subject of a JWT access token, for the greeting
// only (not verified: the server verifies), or "" for an opaque token.
func tokenSubject(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Email string `json:"email"`
		Sub   string `json:"sub"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	if c.Email != "" {
		return c.Email
	}
	return c.Sub
}

// tokenFile is what `enclave login` stores. No refresh token is kept: a lost file then
// gives away at most one access token's lifetime.
type tokenFile struct {
	Issuer      string    `json:"issuer"`
	ClientID    string    `json:"client_id"`
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type,omitempty"`
	Expiry      time.Time `json:"expiry,omitzero"`
}

// tokenPath is $XDG_CONFIG_HOME/enclave/token.json, else ~/.config/enclave/token.json.
func tokenPath(g *globals) (string, error) {
	if d := g.getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "enclave", "token.json"), nil
	}
	if h := g.getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".config", "enclave", "token.json"), nil
	}
	return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set: no place to keep the token")
}

// saveToken writes tf to path with mode 0600 (directory 0700), replacing any old file
// atomically so that a reader never sees half a token.
func saveToken(path string, tf tokenFile) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	b, err := json.MarshalIndent(tf, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*.json")
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	return nil
}

// loginToken is the wesclient.TokenSource of the token `enclave login` stored, read
// once, at the first request.
type loginToken struct {
	g    *globals
	once sync.Once
	tok  string
	err  error
}

func (l *loginToken) Token(context.Context) (string, error) {
	l.once.Do(func() { l.tok, l.err = storedToken(l.g) })
	return l.tok, l.err
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
