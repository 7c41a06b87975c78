package auth_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/auth"
	"github.com/spe4hd/enclave/pkg/auth/authtest"
	"github.com/spe4hd/enclave/pkg/wes"
)

// TestDex checks real Dex tokens: each test user's identity and roles, and that a
// tampered Dex token or one for another audience is refused.
func TestDex(t *testing.T) {
	dex := authtest.NewDex(t)
	a, err := auth.New(context.Background(), dex.Config(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if p := a.Provider(); p.DeviceAuthorizationEndpoint == "" || p.UserinfoEndpoint == "" {
		t.Errorf("Dex discovery lacks endpoints: %+v", p)
	}
	subjects := map[string]bool{}
	for _, tt := range []struct {
		user  string
		roles []string
		code  string
	}{
		{"alice", []string{wes.RoleResearcher}, ""},
		{"bob", []string{wes.RoleResearcher}, ""},
		{"carol", []string{wes.RoleDataController}, ""},
		{"dave", []string{wes.RoleAdmin}, ""},
		{"erin", nil, wes.EFORBIDDEN},
	} {
		t.Run(tt.user, func(t *testing.T) {
			tok := dex.Token(t, tt.user)
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			p, err := a.Authenticate(r)
			if tt.code != "" {
				if wes.ErrorCode(err) != tt.code {
					t.Fatalf("got %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Roles, tt.roles) || p.Email != tt.user+"@example.com" || p.Name != tt.user || p.Subject == "" {
				t.Errorf("principal %+v", p)
			}
			if subjects[p.Subject] {
				t.Errorf("subject %q given to two users", p.Subject)
			}
			subjects[p.Subject] = true

			// Tampering with a real token's claims or signature is caught.
			parts := strings.Split(tok, ".")
			for i, bad := range []string{parts[0] + "." + parts[2][:10] + "." + parts[2], parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))} {
				r.Header.Set("Authorization", "Bearer "+bad)
				if _, err := a.Authenticate(r); wes.ErrorCode(err) != wes.EUNAUTHORIZED {
					t.Errorf("tampered token %d: %v", i, err)
				}
			}
		})
	}

	// The same Dex token is refused by a service expecting another audience.
	cfg := dex.Config()
	cfg.Audiences = []string{"another-service"}
	other, err := auth.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+dex.Token(t, "alice"))
	if _, err := other.Authenticate(r); !strings.Contains(wes.ErrorMessage(err), "audience") {
		t.Errorf("token for another audience: %v", err)
	}
	// A wrong password gets no token.
	if _, err := dex.PasswordGrant(context.Background(), "alice@example.com", "wrong", "openid"); err == nil {
		t.Error("Dex issued a token for a wrong password")
	}
}
