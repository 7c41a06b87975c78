package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runLogin runs `enclave login args...` with env and stdin; stderr may be nil.
func runLogin(ctx context.Context, env []string, stdin string, stderr *syncWriter, args ...string) (string, error) {
	var out bytes.Buffer
	if stderr == nil {
		stderr = &syncWriter{}
	}
	g := &globals{env: env, stdin: strings.NewReader(stdin), stdout: &out, stderr: stderr}
	cmd := newLoginCmd(g)
	cmd.SetArgs(args)
	cmd.SetIn(g.stdin)
	cmd.SetOut(&out)
	cmd.SetErr(stderr)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

// syncWriter is a buffer written by the command and read by the test at once.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// fakeJWT is a token-shaped string whose claims name email.
func fakeJWT(email string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"sub":"u-1","email":"`+email+`"}`)) + ".c2lnbmF0dXJlLXNlY3JldA"
}

// fakeIdP is an OAuth provider for the CLI tests: device flow (pending once, then a
// token) and the password grant for alice/"correct horse".
type fakeIdP struct {
	srv     *httptest.Server
	token   string
	device  bool
	mu      sync.Mutex
	polls   int
	basic   []string // client ids seen in Basic authentication
	formIDs []string // client_id form values seen
}

func newFakeIdP(t *testing.T, device bool) *fakeIdP {
	t.Helper()
	f := &fakeIdP{token: fakeJWT("alice@example.org"), device: device}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{"issuer": f.srv.URL, "token_endpoint": f.srv.URL + "/token", "jwks_uri": f.srv.URL + "/keys"}
		if f.device {
			doc["device_authorization_endpoint"] = f.srv.URL + "/device"
		}
		writeJSONResponse(w, 200, doc)
	})
	mux.HandleFunc("POST /device", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		writeJSONResponse(w, 200, map[string]any{"device_code": "devcode-not-for-eyes", "user_code": "ABCD-EFGH",
			"verification_uri": f.srv.URL + "/activate", "verification_uri_complete": f.srv.URL + "/activate?code=ABCD-EFGH",
			"expires_in": 60, "interval": 1})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		f.mu.Lock()
		defer f.mu.Unlock()
		switch r.PostForm.Get("grant_type") {
		case "urn:ietf:params:oauth:grant-type:device_code":
			f.polls++
			if r.PostForm.Get("device_code") != "devcode-not-for-eyes" {
				writeJSONResponse(w, 400, map[string]string{"error": "invalid_grant"})
			} else if f.polls < 2 {
				writeJSONResponse(w, 400, map[string]string{"error": "authorization_pending"})
			} else {
				writeJSONResponse(w, 200, map[string]any{"access_token": f.token, "token_type": "Bearer", "expires_in": 3600})
			}
		case "password":
			if r.PostForm.Get("username") != "alice" || r.PostForm.Get("password") != "correct horse" {
				writeJSONResponse(w, 401, map[string]string{"error": "invalid_grant", "error_description": "Invalid username or password"})
				return
			}
			writeJSONResponse(w, 200, map[string]any{"access_token": f.token, "token_type": "bearer", "expires_in": 60})
		default:
			writeJSONResponse(w, 400, map[string]string{"error": "unsupported_grant_type"})
		}
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) record(r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, _, ok := r.BasicAuth(); ok {
		f.basic = append(f.basic, id)
	}
	f.formIDs = append(f.formIDs, r.PostForm.Get("client_id"))
}

// readTokenFile checks the stored file's and directory's modes and returns it.
func readTokenFile(t *testing.T, dir string) tokenFile {
	t.Helper()
	p := filepath.Join(dir, "enclave", "token.json")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	di, _ := os.Stat(filepath.Dir(p))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("token file mode %v, directory %v; want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	b, _ := os.ReadFile(p)
	var tf tokenFile
	if err := json.Unmarshal(b, &tf); err != nil {
		t.Fatal(err)
	}
	return tf
}

func TestLoginDeviceFlowAndRunUsesTheToken(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t, true)
	dir := t.TempDir()
	stderr := &syncWriter{}
	out, err := runLogin(context.Background(), []string{"XDG_CONFIG_HOME=" + dir}, "", stderr,
		"--issuer", idp.srv.URL, "--client-id", "enclave-cli")
	if err != nil {
		t.Fatalf("login: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "ABCD-EFGH") || !strings.Contains(stderr.String(), idp.srv.URL+"/activate") {
		t.Errorf("stderr does not tell where to log in: %q", stderr)
	}
	if !strings.Contains(out, "logged in as alice@example.org") {
		t.Errorf("stdout %q", out)
	}
	for _, secret := range []string{idp.token, "c2lnbmF0dXJlLXNlY3JldA", "devcode-not-for-eyes"} {
		if strings.Contains(out+stderr.String(), secret) {
			t.Errorf("login printed a secret %q", secret)
		}
	}
	tf := readTokenFile(t, dir)
	if tf.AccessToken != idp.token || tf.Issuer != idp.srv.URL || tf.ClientID != "enclave-cli" || time.Until(tf.Expiry) < 50*time.Minute {
		t.Errorf("stored %+v", tf)
	}
	idp.mu.Lock()
	if idp.polls != 2 || len(idp.basic) != 0 || idp.formIDs[0] != "enclave-cli" {
		t.Errorf("polls %d, basic auth %v, form client ids %v", idp.polls, idp.basic, idp.formIDs)
	}
	idp.mu.Unlock()

	// enclave run sends the stored token when neither --token nor $ENCLAVE_TOKEN is set.
	f := newFakeWES(t, "/ga4gh/wes/v1")
	env := []string{"XDG_CONFIG_HOME=" + dir, "ENCLAVE_URL=" + f.url()}
	if _, errOut, code := cli(t, env, "run", "list"); code != 0 {
		t.Fatalf("run list: %d %s", code, errOut)
	}
	if _, _, code := cli(t, append(env, "ENCLAVE_TOKEN=from-env"), "run", "list"); code != 0 {
		t.Fatal("run list with $ENCLAVE_TOKEN failed")
	}
	if _, _, code := cli(t, append(env, "ENCLAVE_TOKEN=from-env"), "run", "list", "--token", "from-flag"); code != 0 {
		t.Fatal("run list with --token failed")
	}
	want := []string{"Bearer " + idp.token, "Bearer from-env", "Bearer from-flag"}
	if got := f.authHeaders(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Authorization headers %q, want %q", got, want)
	}
}

func TestLoginPasswordGrant(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t, true) // has a device flow, but --username asks for the password grant
	dir := t.TempDir()
	env := []string{"HOME=" + dir, "ENCLAVE_CLIENT_SECRET=s3cr3t-client", "ENCLAVE_AUTH_OIDC_ISSUER=" + idp.srv.URL,
		"ENCLAVE_AUTH_OIDC_CLIENT_ID=wes"}
	stderr := &syncWriter{}
	out, err := runLogin(context.Background(), env, "correct horse\n", stderr, "--username", "alice", "--password-stdin")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if tf := readTokenFile(t, filepath.Join(dir, ".config")); tf.AccessToken != idp.token {
		t.Errorf("stored %+v", tf)
	}
	idp.mu.Lock()
	if len(idp.basic) != 1 || idp.basic[0] != "wes" {
		t.Errorf("client authentication %v, want Basic for wes", idp.basic)
	}
	idp.mu.Unlock()
	_, err = runLogin(context.Background(), env, "wrong horse\n", stderr, "--username", "alice", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("wrong password: %v", err)
	}
	for _, secret := range []string{idp.token, "correct horse", "wrong horse", "s3cr3t-client"} {
		if strings.Contains(out+stderr.String()+err.Error(), secret) {
			t.Errorf("login printed the secret %q", secret)
		}
	}
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	noDevice := newFakeIdP(t, false)
	home := []string{"HOME=" + t.TempDir()}
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no issuer", home, []string{"--client-id", "x"}, "--issuer is required"},
		{"no client id", home, []string{"--issuer", noDevice.srv.URL}, "--client-id is required"},
		{"password as a flag is not offered", home, []string{"--issuer", noDevice.srv.URL, "--client-id", "x", "--username", "alice"}, "--password-stdin"},
		{"password-stdin alone", home, []string{"--issuer", noDevice.srv.URL, "--client-id", "x", "--password-stdin"}, "needs --username"},
		{"no device flow, no username", home, []string{"--issuer", noDevice.srv.URL, "--client-id", "x"}, "offers no device flow"},
		{"no home", nil, []string{"--issuer", noDevice.srv.URL, "--client-id", "x"}, "no place to keep the token"},
		{"issuer mismatch", home, []string{"--issuer", noDevice.srv.URL + "/", "--client-id", "x"}, "names the issuer"},
	} {
		if _, err := runLogin(context.Background(), tt.env, "", nil, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestStoredToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	g := &globals{env: []string{"XDG_CONFIG_HOME=" + dir}}
	if tok, err := storedToken(g); tok != "" || err != nil {
		t.Errorf("no file: %q %v", tok, err)
	}
	path := filepath.Join(dir, "enclave", "token.json")
	if err := saveToken(path, tokenFile{AccessToken: "t-ok", Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if tok, err := storedToken(g); tok != "t-ok" || err != nil {
		t.Errorf("valid file: %q %v", tok, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := storedToken(g); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable file: %v", err)
	}
	if err := saveToken(path, tokenFile{AccessToken: "t-old", Expiry: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := storedToken(g); err == nil || !strings.Contains(err.Error(), "expired") || strings.Contains(err.Error(), "t-old") {
		t.Errorf("expired token: %v", err)
	}
	if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := storedToken(g); err == nil || !strings.Contains(err.Error(), "enclave login again") {
		t.Errorf("empty file: %v", err)
	}
	// An expired stored token makes enclave run fail before sending anything.
	if err := saveToken(path, tokenFile{AccessToken: "t-old", Expiry: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := cli(t, []string{"XDG_CONFIG_HOME=" + dir, "ENCLAVE_URL=http://127.0.0.1:1"}, "run", "list"); code == 0 || !strings.Contains(errOut, "expired") {
		t.Errorf("run list with an expired stored token: %d %q", code, errOut)
	}
}
