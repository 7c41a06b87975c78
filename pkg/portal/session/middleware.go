package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ctxKey carries the request's session (a *current) in its context.
type ctxKey struct{}

// current is the session Middleware found for a request.
type current struct {
	rec *record
}

// Middleware runs in front of the portal's pages: it finds the session of the request's
// cookie, ends it when it has expired (the browser is sent to the login page with a
// notice), refreshes its access token when that expired (or ends it when the provider
// refuses), gives it a new id every rotateEvery and records that it was used. Requests
// without a session cookie pass through: the pages decide whether they need a login.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(m.cookie)
		if err != nil || c.Value == "" || strings.HasPrefix(r.URL.Path, m.authPath) {
			// The login's own routes read the cookie themselves (the portal may mount
			// Handler behind this middleware).
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		rec, key, moved, err := m.load(ctx, c.Value)
		switch {
		case errors.Is(err, errNoSession) && strings.HasPrefix(r.URL.Path, m.cfg.Prefix+"static/"):
			m.clearCookie(w, m.cookie) // an asset: no page to send to the login
			next.ServeHTTP(w, r)
			return
		case errors.Is(err, errNoSession):
			m.ended(w, r)
			return
		case err != nil:
			m.log.Error("reading a portal session failed", "err", err)
			m.page(w, http.StatusServiceUnavailable, "Try again shortly",
				"Your session cannot be read right now (the session store does not answer). Try again in a minute.", "", "")
			return
		}
		now := m.clock()
		if !moved {
			if now.After(rec.AccessExpiry) {
				if rec, err = m.refresh(ctx, key, rec); err != nil {
					m.log.Info("a portal session ended: its access token could not be refreshed", "reason", err)
					m.deps.Redis.Del(context.WithoutCancel(ctx), key)
					m.ended(w, r)
					return
				}
			}
			switch {
			case now.Sub(rec.Issued) >= rotateEvery:
				m.rotate(ctx, w, key)
			case now.Sub(rec.LastSeen) >= touchEvery:
				_ = m.update(ctx, key, func(rec *record, p redis.Pipeliner) error {
					rec.LastSeen = now
					return m.put(ctx, p, key, rec, m.ttl(rec, now))
				})
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, ctxKey{}, &current{rec: rec})))
	})
}

// rotate gives the session at key a new id (sent in a new cookie); the old id points
// to the new record for rotateGrace. A concurrent change wins: the id stays as it is.
func (m *Manager) rotate(ctx context.Context, w http.ResponseWriter, key string) {
	id, err := newID()
	if err != nil {
		return
	}
	now := m.clock()
	newKey := m.sessionKey(id)
	err = m.update(ctx, key, func(rec *record, p redis.Pipeliner) error {
		rec.LastSeen, rec.Issued = now, now
		if err := m.put(ctx, p, newKey, rec, m.ttl(rec, now)); err != nil {
			return err
		}
		return m.put(ctx, p, key, &record{MovedTo: digest(id), Created: rec.Created, LastSeen: now, Issued: now}, rotateGrace)
	})
	if err == nil {
		m.setCookie(w, m.cookie, id, 0)
	}
}

// ended answers a request whose session cookie names no live session: the cookie is
// cleared and the browser sent to log in again, with a notice, back to the page it asked
// for (or, for a form it posted, the portal's start).
func (m *Manager) ended(w http.ResponseWriter, r *http.Request) {
	m.clearCookie(w, m.cookie)
	back := m.cfg.Prefix
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if p, ok := m.localReturn(r.URL.RequestURI()); ok {
			back = p
		}
	}
	noStore(w)
	http.Redirect(w, r, m.authPath+"login?"+url.Values{"return": {back}, "notice": {noticeExpired}}.Encode(), http.StatusSeeOther)
}

// CSRFToken is the token every form shown to r's session sends back in the field
// "csrf" ("" without a session: nothing may be posted then).
func (m *Manager) CSRFToken(_ http.ResponseWriter, r *http.Request) string {
	rec, err := m.sessionFrom(r)
	if err != nil {
		return ""
	}
	return rec.CSRF
}

// ValidCSRF reports whether the posted form's "csrf" field is r's session's token,
// compared in constant time.
func (m *Manager) ValidCSRF(r *http.Request) bool {
	rec, err := m.sessionFrom(r)
	if err != nil || rec.CSRF == "" {
		return false
	}
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(rec.CSRF)) == 1
}

// setCookie sets an HttpOnly, SameSite=Lax cookie (Secure over https); maxAge 0 makes
// it a browser-session cookie (Redis decides when the session ends).
func (m *Manager) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: m.ckPath, MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: m.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

func (m *Manager) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: m.ckPath, MaxAge: -1,
		HttpOnly: true, Secure: m.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

// localReturn checks a return address: a path of this portal (under the prefix, not its
// auth/ routes), never another site (//evil, https://evil, /\evil) and nothing a browser
// could read as one. It returns the cleaned path with its query.
func (m *Manager) localReturn(raw string) (string, bool) {
	if raw == "" {
		return m.cfg.Prefix, true
	}
	if len(raw) > 2048 || !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") ||
		strings.ContainsAny(raw, "\\") || strings.IndexFunc(raw, func(c rune) bool { return c < 0x20 || c == 0x7f }) >= 0 {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	p := cleanPath(u.Path)
	if p != strings.TrimSuffix(m.cfg.Prefix, "/") && !strings.HasPrefix(p, m.cfg.Prefix) {
		return "", false
	}
	if strings.HasPrefix(p, m.authPath) {
		return m.cfg.Prefix, true // never back into the login itself
	}
	out := (&url.URL{Path: p, RawQuery: u.RawQuery}).String()
	if strings.HasPrefix(out, "//") || !strings.HasPrefix(out, "/") {
		return "", false
	}
	return out, true
}
