package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testProvider is a real OpenID Provider over HTTP for the unit tests: discovery, a key
// set the test can rotate, and a userinfo endpoint. It signs with its own RSA/EC keys.
type testProvider struct {
	t   *testing.T
	srv *httptest.Server

	mu            sync.Mutex
	published     []jose.JSONWebKey
	extraKeys     []json.RawMessage // odd keys published as they are
	jwksHits      int
	keysDown      bool // /keys answers 503
	discoveryDown int  // answer 503 to this many more discovery requests
	issuerInDoc   string
	userinfo      map[string]any // answer of /userinfo; nil = 404
	userinfoCode  int            // status of /userinfo when not 0
	userinfoHits  int
	userinfoAuth  []string // Authorization headers seen by /userinfo
}

func newTestProvider(t *testing.T) *testProvider {
	t.Helper()
	p := &testProvider{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.discoveryDown > 0
		if down {
			p.discoveryDown--
		}
		iss := p.issuerInDoc
		p.mu.Unlock()
		if down {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		if iss == "" {
			iss = p.srv.URL
		}
		writeJSON(w, map[string]any{
			"issuer": iss, "jwks_uri": p.srv.URL + "/keys", "token_endpoint": p.srv.URL + "/token",
			"authorization_endpoint": p.srv.URL + "/auth", "userinfo_endpoint": p.srv.URL + "/userinfo",
			"device_authorization_endpoint": p.srv.URL + "/device/code",
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.jwksHits++
		if p.keysDown {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		keys := []any{}
		for _, k := range p.published {
			keys = append(keys, k)
		}
		for _, k := range p.extraKeys {
			keys = append(keys, k)
		}
		writeJSON(w, map[string]any{"keys": keys})
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.userinfoHits++
		p.userinfoAuth = append(p.userinfoAuth, r.Header.Get("Authorization"))
		switch {
		case p.userinfoCode != 0:
			http.Error(w, "no", p.userinfoCode)
		case p.userinfo == nil:
			http.NotFound(w, r)
		default:
			writeJSON(w, p.userinfo)
		}
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (p *testProvider) issuer() string { return p.srv.URL }

// publish replaces the published key set by the public halves of keys.
func (p *testProvider) publish(keys ...signingKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = nil
	for _, k := range keys {
		p.published = append(p.published, k.public())
	}
}

func (p *testProvider) hits() (jwks, userinfo int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jwksHits, p.userinfoHits
}

// signingKey is a private key of the provider (or of a forger).
type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv any
}

func rsaKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, alg: jose.RS256, priv: k}
}

func ecKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, alg: jose.ES256, priv: k}
}

func (k signingKey) public() jose.JSONWebKey {
	var pub any
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		pub = &p.PublicKey
	case *ecdsa.PrivateKey:
		pub = &p.PublicKey
	}
	return jose.JSONWebKey{Key: pub, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// sign returns a compact JWS of claims, signed by k with k's kid in the header.
func (k signingKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	return signWith(t, k.alg, k.priv, k.kid, claims)
}

func signWith(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// claimsFor returns valid claims for sub at time now, with the given groups.
func (p *testProvider) claimsFor(sub string, now time.Time, groups ...string) map[string]any {
	c := map[string]any{
		"iss": p.issuer(), "aud": []string{"enclave"}, "sub": sub,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"name": strings.ToUpper(sub[:1]) + sub[1:], "email": sub + "@example.org",
	}
	if groups != nil {
		c["groups"] = groups
	}
	return c
}

// logBuffer collects log output safely from many goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testConfig is the configuration the unit tests start from.
func testConfig(p *testProvider) Config {
	return Config{
		Issuer:    p.issuer(),
		Audiences: []string{"enclave"},
		Roles: RoleMap{
			Researcher:     []string{"researchers"},
			DataController: []string{"controllers"},
			Admin:          []string{"admins"},
		},
		JWKSRefreshInterval: 10 * time.Second,
		DiscoveryTimeout:    2 * time.Second,
	}
}

// newTestAuth starts an Authenticator for p with a debug logger into the returned buffer
// and a clock the test can move (set *clock).
func newTestAuth(t *testing.T, p *testProvider, cfg Config) (*Authenticator, *logBuffer, *fakeClock) {
	t.Helper()
	logs := &logBuffer{}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	clock := &fakeClock{t: time.Now()}
	a.now = clock.Now
	return a, logs, clock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// request returns a GET request with the given Authorization header values.
func request(auth ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/ga4gh/wes/v1/runs", nil)
	for _, a := range auth {
		r.Header.Add("Authorization", a)
	}
	return r
}

func testLogger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
