package auth

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

func TestPrincipalAndRoles(t *testing.T) {
	p := newTestProvider(t)
	k := rsaKey(t, "k")
	p.publish(k)
	tests := []struct {
		name   string
		edit   func(*Config)
		claims map[string]any // added to alice's valid claims (nil value deletes)
		roles  []string
		code   string
		msg    string
	}{
		{"researcher by group", nil, map[string]any{"groups": []string{"researchers"}}, []string{wes.RoleResearcher}, "", ""},
		{"group as a single string", nil, map[string]any{"groups": "controllers"}, []string{wes.RoleDataController}, "", ""},
		{"several roles", nil, map[string]any{"groups": []string{"admins", "researchers", "other"}}, []string{wes.RoleResearcher, wes.RoleAdmin}, "", ""},
		{"role by entitlement", func(c *Config) { c.Roles.Admin = []string{"urn:geant:example.org:group:ops#aai"} },
			map[string]any{"eduperson_entitlement": []string{"urn:geant:example.org:group:ops#aai"}}, []string{wes.RoleAdmin}, "", ""},
		{"no role", nil, map[string]any{"groups": []string{"staff"}}, nil, wes.EFORBIDDEN, "no Enclave role"},
		{"no groups claim", nil, nil, nil, wes.EFORBIDDEN, "no Enclave role"},
		{"all users are researchers", func(c *Config) { c.AllUsersAreResearchers = true }, nil, []string{wes.RoleResearcher}, "", ""},
		{"group names are case-sensitive", nil, map[string]any{"groups": []string{"Researchers"}}, nil, wes.EFORBIDDEN, "no Enclave role"},
		{"required entitlement held", func(c *Config) { c.RequiredEntitlement = "urn:x:spe" },
			map[string]any{"groups": []string{"researchers"}, "eduperson_entitlement": "urn:x:spe"}, []string{wes.RoleResearcher}, "", ""},
		{"required entitlement missing", func(c *Config) { c.RequiredEntitlement = "urn:x:spe" },
			map[string]any{"groups": []string{"researchers", "admins"}}, nil, wes.EFORBIDDEN, `entitlement "urn:x:spe"`},
		{"required scope in scope", func(c *Config) { c.RequiredScope = "wes" },
			map[string]any{"groups": []string{"researchers"}, "scope": "openid wes email"}, []string{wes.RoleResearcher}, "", ""},
		{"required scope in scp", func(c *Config) { c.RequiredScope = "wes" },
			map[string]any{"groups": []string{"researchers"}, "scp": []string{"openid", "wes"}}, []string{wes.RoleResearcher}, "", ""},
		{"required scope missing", func(c *Config) { c.RequiredScope = "wes" },
			map[string]any{"groups": []string{"researchers"}, "scope": "openid wesx"}, nil, wes.EFORBIDDEN, `scope "wes"`},
		{"custom claim names", func(c *Config) {
			c.Claims = Claims{Subject: "preferred_username", Groups: "roles", Email: "mail", Name: "display"}
		}, map[string]any{"preferred_username": "alice.s", "roles": []string{"researchers"}, "mail": "a@x.org", "display": "Alice S"},
			[]string{wes.RoleResearcher}, "", ""},
		{"control character in subject", nil, map[string]any{"sub": "alice\nadmin", "groups": []string{"researchers"}}, nil, wes.EUNAUTHORIZED, "subject"},
		{"subject too long", nil, map[string]any{"sub": strings.Repeat("a", 256), "groups": []string{"researchers"}}, nil, wes.EUNAUTHORIZED, "subject"},
		{"subject not a string", nil, map[string]any{"sub": 42, "groups": []string{"researchers"}}, nil, wes.EUNAUTHORIZED, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(p)
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			a, _, clock := newTestAuth(t, p, cfg)
			c := p.claimsFor("alice", clock.Now())
			for k, v := range tt.claims {
				c[k] = v
			}
			got, err := a.Authenticate(request("Bearer " + k.sign(t, c)))
			if tt.code != "" {
				if wes.ErrorCode(err) != tt.code || !strings.Contains(wes.ErrorMessage(err), tt.msg) {
					t.Fatalf("got %v, want %s mentioning %q", err, tt.code, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Roles, tt.roles) {
				t.Errorf("roles %v, want %v", got.Roles, tt.roles)
			}
			if tt.name == "custom claim names" {
				if got.Subject != "alice.s" || got.Email != "a@x.org" || got.Name != "Alice S" {
					t.Errorf("principal %+v", got)
				}
			} else if got.Subject != "alice" || got.Email != "alice@example.org" || got.Name != "Alice" {
				t.Errorf("principal %+v", got)
			}
		})
	}
}

func TestUserinfo(t *testing.T) {
	p := newTestProvider(t)
	k := rsaKey(t, "k")
	p.publish(k)
	cfg := testConfig(p)
	cfg.Userinfo = true
	cfg.UserinfoCacheTTL = time.Minute
	a, logs, clock := newTestAuth(t, p, cfg)
	set := func(info map[string]any, code int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.userinfo, p.userinfoCode = info, code
	}
	set(map[string]any{"sub": "alice", "groups": []string{"researchers"}, "email": "not-used@example.org",
		"eduperson_entitlement": []string{"urn:x"}}, 0)
	c := p.claimsFor("alice", clock.Now()) // no groups in the token
	tok := k.sign(t, c)
	got, err := a.Authenticate(request("Bearer " + tok))
	if err != nil || !got.HasRole(wes.RoleResearcher) || got.Email != "alice@example.org" || !slices.Contains(got.Groups, "urn:x") {
		t.Fatalf("with userinfo: %+v %v (token claims must win, missing ones come from userinfo)", got, err)
	}
	if _, err := a.Authenticate(request("Bearer " + tok)); err != nil {
		t.Fatal(err)
	}
	if _, n := p.hits(); n != 1 {
		t.Errorf("userinfo asked %d times for one token within the TTL, want 1", n)
	}
	clock.Advance(61 * time.Second)
	if _, err := a.Authenticate(request("Bearer " + tok)); err != nil {
		t.Fatal(err)
	}
	if _, n := p.hits(); n != 2 {
		t.Errorf("userinfo asked %d times after the TTL, want 2", n)
	}
	if p.userinfoAuth[0] != "Bearer "+tok {
		t.Errorf("userinfo was not called with the caller's token")
	}
	// A token that carries every configured claim needs no userinfo.
	full := p.claimsFor("bob", clock.Now(), "researchers")
	full["eduperson_entitlement"] = []string{}
	if _, err := a.Authenticate(request("Bearer " + k.sign(t, full))); err != nil {
		t.Fatal(err)
	}
	if _, n := p.hits(); n != 2 {
		t.Errorf("userinfo asked for a token with all claims")
	}

	for _, tt := range []struct {
		name string
		info map[string]any
		code int
		want string
	}{
		{"answer for another subject is ignored", map[string]any{"sub": "mallory", "groups": []string{"admins"}}, 0, wes.EFORBIDDEN},
		{"token refused by userinfo", nil, http.StatusUnauthorized, wes.EUNAUTHORIZED},
		{"userinfo down", nil, http.StatusBadGateway, wes.EUNAVAILABLE},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set(tt.info, tt.code)
			clock.Advance(time.Second)
			_, err := a.Authenticate(request("Bearer " + k.sign(t, p.claimsFor("carol", clock.Now()))))
			if wes.ErrorCode(err) != tt.want {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
	assertNoSecrets(t, logs.String(), nil, []string{tok})
}

func TestStartup(t *testing.T) {
	t.Run("provider comes up while New retries", func(t *testing.T) {
		p := newTestProvider(t)
		p.publish(rsaKey(t, "k"))
		p.discoveryDown = 1
		cfg := testConfig(p)
		cfg.DiscoveryTimeout = 5 * time.Second
		logs := &logBuffer{}
		if _, err := New(context.Background(), cfg, testLogger(logs)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "retrying") {
			t.Errorf("retry not logged: %s", logs)
		}
	})
	t.Run("provider down: New fails naming it", func(t *testing.T) {
		p := newTestProvider(t)
		p.discoveryDown = 1000
		cfg := testConfig(p)
		cfg.DiscoveryTimeout = 600 * time.Millisecond
		_, err := New(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), p.issuer()) || !strings.Contains(err.Error(), "503") {
			t.Errorf("New = %v", err)
		}
	})
	t.Run("issuer mismatch fails at once", func(t *testing.T) {
		p := newTestProvider(t)
		p.issuerInDoc = p.issuer() + "/"
		cfg := testConfig(p)
		cfg.DiscoveryTimeout = time.Minute
		start := time.Now()
		_, err := New(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), "trailing slash") || time.Since(start) > 10*time.Second {
			t.Errorf("New = %v after %s", err, time.Since(start))
		}
	})
	t.Run("bad configuration", func(t *testing.T) {
		for _, tt := range []struct {
			cfg  Config
			want string
		}{
			{Config{Audiences: []string{"x"}}, "issuer URL is required"},
			{Config{Issuer: "http://idp.example.org", Audiences: []string{"x"}}, "must use https"},
			{Config{Issuer: "https://idp.example.org?x=1", Audiences: []string{"x"}}, "not an absolute"},
			{Config{Issuer: "https://idp.example.org"}, "audience"},
			{Config{Issuer: "https://idp.example.org", Audiences: []string{"x"}, ClockSkew: time.Hour}, "clock skew"},
			{Config{Issuer: "https://idp.example.org", Audiences: []string{"x"}, MaxTokenBytes: 10}, "too small"},
		} {
			if _, err := New(context.Background(), tt.cfg, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
			}
		}
	})
}
