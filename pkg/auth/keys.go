package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keysMaxAge is how old the cached key set may get before the next token makes Enclave
// fetch it again, so that a key the provider withdrew (rotated out or compromised) stops
// verifying tokens within an hour even if no unknown key id ever shows up.
const keysMaxAge = time.Hour

// errUnknownKey: the token names a key the provider does not publish (after a refresh,
// or while refreshing is rate-limited).
var errUnknownKey = errors.New("unknown signing key")

// keySet caches the provider's JSON Web Key Set. It is fetched again when a token names
// an unknown key id or the set is older than keysMaxAge, at most once per minInterval,
// and never by two requests at once.
type keySet struct {
	url         string
	hc          *http.Client
	minInterval time.Duration
	now         func() time.Time
	log         *slog.Logger

	fetchMu sync.Mutex // held while fetching: one fetch at a time

	mu          sync.Mutex // guards the fields below
	byKID       map[string]jose.JSONWebKey
	noKID       []jose.JSONWebKey // keys published without a key id
	fetchedAt   time.Time         // last successful fetch
	lastAttempt time.Time         // last fetch tried, successful or not
}

// candidates returns the keys that may have signed a token with key id kid and
// algorithm alg: the key with that id, or every key when the token names none.
func (k *keySet) candidates(kid, alg string) (keys []jose.JSONWebKey, age time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if kid != "" {
		if key, ok := k.byKID[kid]; ok {
			keys = append(keys, key)
		}
	} else {
		for _, key := range k.byKID {
			keys = append(keys, key)
		}
		keys = append(keys, k.noKID...)
	}
	out := keys[:0]
	for _, key := range keys {
		if key.Algorithm == "" || key.Algorithm == alg {
			out = append(out, key)
		}
	}
	return out, k.now().Sub(k.fetchedAt)
}

// lookup returns the candidate keys for a token, refreshing the set first when kid is
// unknown or the set is stale, if the rate limit allows.
func (k *keySet) lookup(ctx context.Context, kid, alg string) ([]jose.JSONWebKey, error) {
	keys, age := k.candidates(kid, alg)
	if len(keys) > 0 && age < keysMaxAge {
		return keys, nil
	}
	// A failed fetch matters only when no cached key could serve; a rate-limited one
	// leaves the kid unknown.
	if err := k.refresh(ctx, false); err != nil && !errors.Is(err, errRateLimited) && len(keys) == 0 {
		return nil, err
	}
	// After a refresh (or a failed or rate-limited one, with the keys still cached).
	if keys, _ = k.candidates(kid, alg); len(keys) == 0 {
		return nil, errUnknownKey
	}
	return keys, nil
}

// errRateLimited: a fetch was skipped because the last one is too recent.
var errRateLimited = errors.New("the key set was fetched moments ago")

// refresh fetches the key set unless the last attempt is younger than minInterval
// (force skips that check, for the first fetch). Requests arriving while a fetch runs
// wait for it and then find the attempt recent.
func (k *keySet) refresh(ctx context.Context, force bool) error {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.Lock()
	if !force && !k.lastAttempt.IsZero() && k.now().Sub(k.lastAttempt) < k.minInterval {
		k.mu.Unlock()
		return errRateLimited
	}
	k.lastAttempt = k.now()
	k.mu.Unlock()

	byKID, noKID, err := k.fetch(ctx)
	if err != nil {
		k.log.Warn("could not fetch the OIDC provider's signing keys; keeping the cached ones", "jwks_uri", k.url, "err", err)
		return fmt.Errorf("fetching the provider's signing keys: %w", err)
	}
	k.mu.Lock()
	k.byKID, k.noKID, k.fetchedAt = byKID, noKID, k.now()
	k.mu.Unlock()
	k.log.Debug("fetched the OIDC provider's signing keys", "keys", len(byKID)+len(noKID))
	return nil
}

// fetch reads the key set. Keys that cannot verify signatures (encryption keys, private
// or symmetric keys, key types go-jose does not know) are skipped one by one, so one odd
// key does not make the whole set unusable.
func (k *keySet) fetch(ctx context.Context) (map[string]jose.JSONWebKey, []jose.JSONWebKey, error) {
	var doc struct {
		Keys []jsonRaw `json:"keys"`
	}
	if err := getJSON(ctx, k.hc, k.url, "", &doc); err != nil {
		return nil, nil, err
	}
	byKID := map[string]jose.JSONWebKey{}
	var noKID []jose.JSONWebKey
	for i, raw := range doc.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil {
			k.log.Debug("skipping a key of the provider's key set", "index", i, "err", err)
			continue
		}
		// IsPublic is false for symmetric ("oct") and private keys.
		if key.Use == "enc" || !key.Valid() || !key.IsPublic() {
			continue
		}
		if key.KeyID == "" {
			noKID = append(noKID, key)
		} else {
			byKID[key.KeyID] = key
		}
	}
	if len(byKID)+len(noKID) == 0 {
		return nil, nil, errors.New("the key set holds no usable signing key")
	}
	return byKID, noKID, nil
}

// jsonRaw delays decoding one key.
type jsonRaw []byte

func (r *jsonRaw) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}
