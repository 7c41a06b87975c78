package auth

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/spe4hd/enclave/pkg/wes"
)

// unsigned builds an "alg: none" token.
func unsigned(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "."
}

// publicPEM is the RSA public key as an HMAC forger would use it as the secret.
func publicPEM(t *testing.T, k signingKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.priv.(*rsa.PrivateKey).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// flip changes one character of the token's part i (0 header, 1 claims, 2 signature).
func flip(tok string, i int) string {
	parts := strings.Split(tok, ".")
	b := []byte(parts[i])
	mid := len(b) / 2
	if b[mid] == 'A' {
		b[mid] = 'B'
	} else {
		b[mid] = 'A'
	}
	parts[i] = string(b)
	return strings.Join(parts, ".")
}

func TestForgeries(t *testing.T) {
	p := newTestProvider(t)
	good, ec := rsaKey(t, "rsa-1"), ecKey(t, "ec-1")
	p.publish(good, ec)
	a, logs, clock := newTestAuth(t, p, testConfig(p))
	now := clock.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := p.claimsFor("alice", now, "researchers")
		if edit != nil {
			edit(c)
		}
		return c
	}
	valid := good.sign(t, claims(nil))
	forger := rsaKey(t, "rsa-1") // same kid, different key
	pemKey := publicPEM(t, good)
	jwkJSON, _ := json.Marshal(good.public())
	oversized := good.sign(t, claims(func(c map[string]any) { c["pad"] = strings.Repeat("x", DefaultMaxTokenBytes) }))

	tests := []struct {
		name   string
		auth   []string // Authorization header values
		code   string   // "" = accepted
		reason string   // fragment of the error message
	}{
		{"valid RS256", []string{"Bearer " + valid}, "", ""},
		{"valid ES256", []string{"Bearer " + ec.sign(t, claims(nil))}, "", ""},
		{"scheme is case-insensitive", []string{"bearer " + valid}, "", ""},
		{"expired but within the clock skew", []string{"Bearer " + good.sign(t, claims(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() }))}, "", ""},

		{"alg none", []string{"Bearer " + unsigned(t, "rsa-1", claims(nil))}, wes.EUNAUTHORIZED, "algorithm is not allowed"},
		{"HMAC keyed with the public key PEM", []string{"Bearer " + signWith(t, jose.HS256, pemKey, "rsa-1", claims(nil))}, wes.EUNAUTHORIZED, "algorithm is not allowed"},
		{"HMAC keyed with the public JWK", []string{"Bearer " + signWith(t, jose.HS512, jwkJSON, "rsa-1", claims(nil))}, wes.EUNAUTHORIZED, "algorithm is not allowed"},
		{"wrong issuer", []string{"Bearer " + good.sign(t, claims(func(c map[string]any) { c["iss"] = "https://evil.example.org" }))}, wes.EUNAUTHORIZED, "another provider"},
		{"issuer with extra slash", []string{"Bearer " + good.sign(t, claims(func(c map[string]any) { c["iss"] = p.issuer() + "/" }))}, wes.EUNAUTHORIZED, "another provider"},
		{"wrong audience", []string{"Bearer " + good.sign(t, claims(func(c map[string]any) { c["aud"] = "other-service" }))}, wes.EUNAUTHORIZED, "audience"},
		{"no audience", []string{"Bearer " + good.sign(t, claims(func(c map[string]any) { delete(c, "aud") }))}, wes.EUNAUTHORIZED, "audience"},
		{"expired", []string{"Bearer " + good.sign(t, claims(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() }))}, wes.EUNAUTHORIZED, "expired"},
		{"no expiry", []string{"Bearer " + good.sign(t, claims(func(c map[string]any) { delete(c, "exp") }))}, wes.EUNAUTHORIZED, "no expiry"},
		{"not yet valid", []string{"Bearer " + good.sign(t, claims(func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() }))}, wes.EUNAUTHORIZED, "not valid yet"},
		{"issued in the future beyond the skew", []string{"Bearer " + good.sign(t, claims(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() }))}, wes.EUNAUTHORIZED, "issued in the future"},
		{"unknown kid", []string{"Bearer " + rsaKey(t, "rogue").sign(t, claims(nil))}, wes.EUNAUTHORIZED, "does not publish"},
		{"known kid, forger's key", []string{"Bearer " + forger.sign(t, claims(nil))}, wes.EUNAUTHORIZED, "signature does not verify"},
		{"tampered signature", []string{"Bearer " + flip(valid, 2)}, wes.EUNAUTHORIZED, "signature does not verify"},
		{"tampered claims", []string{"Bearer " + flip(valid, 1)}, wes.EUNAUTHORIZED, ""},
		{"signature stripped", []string{"Bearer " + strings.Join(strings.Split(valid, ".")[:2], ".") + "."}, wes.EUNAUTHORIZED, ""},
		{"no subject", []string{"Bearer " + good.sign(t, claims(func(c map[string]any) { delete(c, "sub") }))}, wes.EUNAUTHORIZED, "subject"},
		{"oversized", []string{"Bearer " + oversized}, wes.EUNAUTHORIZED, "longer than"},
		{"no Authorization header", nil, wes.EUNAUTHORIZED, "authentication required"},
		{"Basic scheme", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:password"))}, wes.EUNAUTHORIZED, "Bearer <token>"},
		{"token without scheme", []string{valid}, wes.EUNAUTHORIZED, "Bearer <token>"},
		{"empty token", []string{"Bearer "}, wes.EUNAUTHORIZED, "empty"},
		{"two tokens in one header", []string{"Bearer " + valid + " " + valid}, wes.EUNAUTHORIZED, "exactly one token"},
		{"two tokens, comma", []string{"Bearer " + valid + "," + valid}, wes.EUNAUTHORIZED, "exactly one token"},
		{"two Authorization headers", []string{"Bearer " + valid, "Bearer " + valid}, wes.EUNAUTHORIZED, "exactly one Authorization header"},
		{"not a JWT", []string{"Bearer abc.def"}, wes.EUNAUTHORIZED, "not a signed JWT"},
		{"garbage JWT", []string{"Bearer a.b.c"}, wes.EUNAUTHORIZED, "not a well-formed"},
	}
	var tokens, messages []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(request(tt.auth...))
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.code == "":
				if p.Subject != "alice" || !p.HasRole(wes.RoleResearcher) {
					t.Errorf("principal %+v", p)
				}
			case wes.ErrorCode(err) != tt.code:
				t.Fatalf("got %v (principal %+v), want code %s", err, p, tt.code)
			case !strings.Contains(wes.ErrorMessage(err), tt.reason):
				t.Errorf("message %q does not say %q", wes.ErrorMessage(err), tt.reason)
			}
			if err != nil {
				messages = append(messages, err.Error(), wes.ErrorMessage(err))
			}
		})
		for _, h := range tt.auth {
			if _, tok, ok := strings.Cut(h, " "); ok {
				tokens = append(tokens, tok)
			}
		}
	}
	assertNoSecrets(t, logs.String(), messages, tokens, string(pemKey))
}

// assertNoSecrets fails if any token, any token part longer than a few bytes, or a
// secret appears in the log or an error message.
func assertNoSecrets(t *testing.T, log string, messages, tokens []string, secrets ...string) {
	t.Helper()
	var needles []string
	for _, tok := range tokens {
		for _, part := range strings.FieldsFunc(tok, func(r rune) bool { return r == '.' || r == ' ' || r == ',' }) {
			if len(part) >= 12 {
				needles = append(needles, part)
			}
		}
	}
	needles = append(needles, secrets...)
	for _, n := range needles {
		if n == "" {
			continue
		}
		if strings.Contains(log, n) {
			t.Errorf("the log contains a token part or secret %.16q...", n)
		}
		for _, m := range messages {
			if strings.Contains(m, n) {
				t.Errorf("error message %q contains a token part or secret", m)
			}
		}
	}
	if !strings.Contains(log, "bearer token refused") {
		t.Errorf("refusals were not logged at debug level:\n%s", log)
	}
}

func TestRefusedAlgorithmsInConfig(t *testing.T) {
	p := newTestProvider(t)
	p.publish(rsaKey(t, "k"))
	for _, algs := range [][]string{{"none"}, {"HS256"}, {"RS256", "HS512"}, {"rs256"}} {
		cfg := testConfig(p)
		cfg.Algorithms = algs
		if _, err := New(t.Context(), cfg, nil); err == nil || !strings.Contains(err.Error(), "is not allowed") {
			t.Errorf("Algorithms %v: New = %v, want a refusal", algs, err)
		}
	}
	// An allow-list without RS256 refuses RS256 tokens even from the provider's own key.
	k := ecKey(t, "ec")
	rk := rsaKey(t, "rsa")
	p.publish(k, rk)
	cfg := testConfig(p)
	cfg.Algorithms = []string{"ES256"}
	a, _, clock := newTestAuth(t, p, cfg)
	if _, err := a.Authenticate(request("Bearer " + rk.sign(t, p.claimsFor("alice", clock.Now(), "researchers")))); !strings.Contains(wes.ErrorMessage(err), "algorithm is not allowed") {
		t.Errorf("RS256 with ES256 allowed: %v", err)
	}
	if _, err := a.Authenticate(request("Bearer " + k.sign(t, p.claimsFor("alice", clock.Now(), "researchers")))); err != nil {
		t.Errorf("ES256: %v", err)
	}
}

func TestOddKeysInTheKeySetAreSkipped(t *testing.T) {
	p := newTestProvider(t)
	k := rsaKey(t, "good")
	p.publish(k)
	p.extraKeys = []json.RawMessage{
		json.RawMessage(`{"kty":"oct","kid":"shared","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}`), // a symmetric key must never be used
		json.RawMessage(`{"kty":"XYZ","kid":"future"}`),
		json.RawMessage(`{"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"}`),
	}
	a, _, clock := newTestAuth(t, p, testConfig(p))
	if _, err := a.Authenticate(request("Bearer " + k.sign(t, p.claimsFor("alice", clock.Now(), "researchers")))); err != nil {
		t.Errorf("good key next to odd ones: %v", err)
	}
	// With HS256 smuggled into the allow-list check's absence, the oct key would verify;
	// it is not even kept.
	if keys, _ := a.keys.candidates("shared", "HS256"); len(keys) != 0 {
		t.Errorf("symmetric key kept: %v", keys)
	}
}

func TestKeyRotationAndRefreshRateLimit(t *testing.T) {
	p := newTestProvider(t)
	old, next := rsaKey(t, "2026-01"), rsaKey(t, "2026-02")
	p.publish(old)
	a, logs, clock := newTestAuth(t, p, testConfig(p)) // refresh at most every 10s
	auth := func(k signingKey) error {
		_, err := a.Authenticate(request("Bearer " + k.sign(t, p.claimsFor("alice", clock.Now(), "researchers"))))
		return err
	}
	jwks := func() int { n, _ := p.hits(); return n }
	if err := auth(old); err != nil || jwks() != 1 {
		t.Fatalf("old key: %v, %d key set fetches", err, jwks())
	}
	// An unknown kid right after the start-up fetch: rate-limited, no fetch.
	if err := auth(rsaKey(t, "rogue")); wes.ErrorCode(err) != wes.EUNAUTHORIZED || jwks() != 1 {
		t.Fatalf("unknown kid within the interval: %v, %d fetches", err, jwks())
	}
	// The provider rotates mid-run; once the interval has passed, the first token with
	// the new kid triggers exactly one fetch, even with many requests at once.
	p.publish(next)
	clock.Advance(11 * time.Second)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { errs[i] = auth(next) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("new key, request %d: %v", i, err)
		}
	}
	if jwks() != 2 {
		t.Errorf("%d key set fetches after rotation, want 2", jwks())
	}
	// The withdrawn key no longer verifies, and forged kids do not cause fetches.
	for range 5 {
		if err := auth(old); wes.ErrorCode(err) != wes.EUNAUTHORIZED {
			t.Errorf("withdrawn key accepted: %v", err)
		}
		if err := auth(rsaKey(t, "rogue-2")); wes.ErrorCode(err) != wes.EUNAUTHORIZED {
			t.Errorf("rogue key accepted: %v", err)
		}
	}
	if jwks() != 2 {
		t.Errorf("%d key set fetches, want 2: unknown kids within the interval must not fetch", jwks())
	}
	// After the interval one more fetch is allowed, and only one.
	clock.Advance(11 * time.Second)
	_ = auth(rsaKey(t, "rogue-3"))
	_ = auth(rsaKey(t, "rogue-4"))
	if jwks() != 3 {
		t.Errorf("%d key set fetches, want 3", jwks())
	}
	// A stale set (older than keysMaxAge) is fetched again on the next token, known kid or not.
	clock.Advance(keysMaxAge + time.Second)
	if err := auth(next); err != nil || jwks() != 4 {
		t.Errorf("stale key set: %v, %d fetches, want 4", err, jwks())
	}
	// If the key set cannot be fetched when it is stale, the cached keys keep working.
	p.mu.Lock()
	p.keysDown = true
	p.mu.Unlock()
	clock.Advance(keysMaxAge + time.Second)
	if err := auth(next); err != nil || jwks() != 5 {
		t.Errorf("stale key set, provider down: %v, %d fetches, want 5", err, jwks())
	}
	if !strings.Contains(logs.String(), "fetched the OIDC provider's signing keys") {
		t.Error("key fetches not logged")
	}
}
