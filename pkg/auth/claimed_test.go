package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Claimed reads who a token says it is without trusting it: bounded, cleaned, and
// nothing at all from what does not parse.
func TestClaimed(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(claims map[string]any) string {
		tok, err := jwt.Signed(sig).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	unsigned := func(payload string) string {
		return "e30." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
	}
	long := strings.Repeat("é", 100)
	for _, tt := range []struct {
		name, header, iss, sub string
	}{
		{"signed", "Bearer " + signed(map[string]any{"iss": "https://idp.example/", "sub": "alice"}), "https://idp.example/", "alice"},
		{"scheme in any case", "bearer " + signed(map[string]any{"sub": "bob"}), "", "bob"},
		{"control and format characters", "Bearer " + signed(map[string]any{"sub": "a\nb\u202ec\x1b[31m"}), "", "a?b?c?[31m"},
		{"cut at a character", "Bearer " + signed(map[string]any{"sub": long}), "", strings.Repeat("é", 64) + "..."},
		{"not strings", "Bearer " + unsigned(`{"iss": 7, "sub": {"x": 1}}`), "", ""},
		{"not JSON", "Bearer " + unsigned(`nope`), "", ""},
		{"not base64", "Bearer a.!!!.c", "", ""},
		{"two parts", "Bearer a.b", "", ""},
		{"basic auth", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw")), "", ""},
		{"huge payload", "Bearer " + unsigned(`{"sub": "`+strings.Repeat("x", maxClaimedPayload)+`"}`), "", ""},
	} {
		iss, sub := Claimed(tt.header)
		if iss != tt.iss || sub != tt.sub {
			t.Errorf("%s: Claimed = %q, %q; want %q, %q", tt.name, iss, sub, tt.iss, tt.sub)
		}
	}
}
