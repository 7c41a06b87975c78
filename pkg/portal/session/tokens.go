package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// tokens is the token endpoint's answer. It stays on the server.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Error        string `json:"error"`
}

// defaultAccessLifetime is assumed when the provider does not say how long an access
// token lives.
const defaultAccessLifetime = 5 * time.Minute

func (t *tokens) expiry(now time.Time) time.Time {
	if t.ExpiresIn <= 0 {
		return now.Add(defaultAccessLifetime)
	}
	return now.Add(time.Duration(t.ExpiresIn) * time.Second)
}

// exchange posts form to the provider's token endpoint as the portal's client: HTTP
// Basic with the secret (RFC 6749 2.3.1), or client_id alone for a public client.
// Errors name the provider's error code, never a token.
func (m *Manager) exchange(ctx context.Context, form url.Values) (*tokens, error) {
	if m.cfg.ClientSecret == "" {
		form.Set("client_id", m.cfg.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if m.cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(m.cfg.ClientID), url.QueryEscape(m.cfg.ClientSecret))
	}
	resp, err := m.deps.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("token endpoint: %w", ue.Err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var t tokens
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, fmt.Errorf("token endpoint answered %d with no JSON", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || t.AccessToken == "" {
		return nil, fmt.Errorf("token endpoint answered %d (error %q)", resp.StatusCode, clip(t.Error, 60))
	}
	return &t, nil
}

// refresh renews the session's access token with its refresh token. A new ID token
// re-derives the principal (a user who lost their role loses it here); the session
// keeps its id, CSRF token and times.
func (m *Manager) refresh(ctx context.Context, key string, rec *record) (*record, error) {
	if rec.RefreshToken == "" {
		return nil, errors.New("the access token expired and the provider gave no refresh token")
	}
	tok, err := m.exchange(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rec.RefreshToken}})
	if err != nil {
		return nil, err
	}
	now := m.clock()
	next := *rec
	next.AccessExpiry, next.LastSeen = tok.expiry(now), now
	if tok.RefreshToken != "" {
		next.RefreshToken = tok.RefreshToken
	}
	if tok.IDToken != "" {
		p, err := m.deps.Auth.PrincipalFromIDToken(ctx, tok.IDToken, m.cfg.ClientID, "", tok.AccessToken)
		if err != nil {
			return nil, fmt.Errorf("the refreshed ID token was refused: %w", err)
		}
		next.Principal, next.IDToken = p, tok.IDToken
	}
	err = m.update(ctx, key, func(_ *record, p redis.Pipeliner) error {
		return m.put(ctx, p, key, &next, m.ttl(&next, now))
	})
	if err != nil && !errors.Is(err, errChanged) {
		return nil, err
	}
	return &next, nil
}
