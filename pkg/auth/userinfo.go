package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// maxUserinfoEntries bounds the cache; when it is full, expired entries are dropped and,
// if that is not enough, the whole cache is cleared (answers are cheap to fetch again).
const maxUserinfoEntries = 10000

// userinfoCache keeps userinfo answers by the SHA-256 of the token, never the token.
type userinfoCache struct {
	ttl time.Duration

	mu      sync.Mutex
	entries map[[32]byte]userinfoEntry
}

type userinfoEntry struct {
	claims  map[string]any
	expires time.Time
}

func newUserinfoCache(ttl time.Duration) *userinfoCache {
	return &userinfoCache{ttl: ttl, entries: map[[32]byte]userinfoEntry{}}
}

func (c *userinfoCache) get(key [32]byte, now time.Time) (map[string]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.claims, true
}

func (c *userinfoCache) put(key [32]byte, claims map[string]any, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxUserinfoEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxUserinfoEntries {
			clear(c.entries)
		}
	}
	c.entries[key] = userinfoEntry{claims: claims, expires: expires}
}

// withUserinfo adds the claims the token lacks from the provider's userinfo endpoint.
// The token's own claims win; the answer counts only if its "sub" is the token's.
func (a *Authenticator) withUserinfo(ctx context.Context, raw string, claims map[string]any) (map[string]any, error) {
	now := a.now()
	key := sha256.Sum256([]byte(raw))
	info, ok := a.userinfo.get(key, now)
	if !ok {
		var fetched map[string]any
		err := getJSON(ctx, a.cfg.HTTPClient, a.meta.UserinfoEndpoint, raw, &fetched)
		var st *httpStatusError
		switch {
		case errors.As(err, &st) && (st.status == http.StatusUnauthorized || st.status == http.StatusForbidden):
			return nil, a.unauthorized("the identity provider no longer accepts it (userinfo)")
		case err != nil:
			a.log.Warn("userinfo request failed", "endpoint", a.meta.UserinfoEndpoint, "err", err)
			return nil, wes.Errorf(wes.EUNAVAILABLE, "the identity provider's userinfo endpoint could not be reached; try again shortly")
		}
		if s, _ := fetched["sub"].(string); s == "" || s != stringClaim(claims, "sub") {
			a.log.Warn("userinfo answered for another subject; ignoring the answer", "endpoint", a.meta.UserinfoEndpoint)
			fetched = map[string]any{}
		}
		info = fetched
		expires := now.Add(a.cfg.UserinfoCacheTTL)
		if exp, ok := claims["exp"].(float64); ok {
			if t := time.Unix(int64(exp), 0); t.Before(expires) {
				expires = t
			}
		}
		a.userinfo.put(key, info, expires, now)
	}
	merged := maps.Clone(claims)
	c := a.cfg.Claims
	for _, name := range []string{c.Name, c.Email, c.Groups, c.Entitlements} {
		if _, inToken := merged[name]; !inToken {
			if v, ok := info[name]; ok {
				merged[name] = v
			}
		}
	}
	return merged, nil
}
