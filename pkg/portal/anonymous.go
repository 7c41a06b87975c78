package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// CSRFCookie is the cookie of Anonymous's double-submit CSRF token.
const CSRFCookie = "enclave_csrf"

// anonymous is Sessions with authentication off: every visitor is wes.Anonymous. There is
// no session to bind a CSRF token to, so forms are protected by a double-submit cookie:
// a random value signed with key, sent both as the cookie and as the form's "csrf" field.
// Another site can make a browser send the cookie but cannot read it to fill in the field,
// and the signature stops a cookie planted by a sibling host from being one of ours.
type anonymous struct{ key []byte }

// Anonymous returns the Sessions of a portal without login, its CSRF cookies signed with
// key (a random key when key is empty: tokens then last until the process restarts).
func Anonymous(key []byte) Sessions {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &anonymous{key: key}
}

func (a *anonymous) Principal(*http.Request) (*wes.Principal, error) { return wes.Anonymous, nil }
func (a *anonymous) Handler() http.Handler                           { return nil }
func (a *anonymous) LoginRequired() bool                             { return false }

// CSRFToken returns the visitor's signed token, making and setting a new one when the
// request carries none (or one that is not ours).
func (a *anonymous) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && a.signed(c.Value) {
		return c.Value
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	tok := v + "." + a.mac(v)
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: tok, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	return tok
}

// ValidCSRF reports whether the form's csrf field equals the request's signed cookie.
func (a *anonymous) ValidCSRF(r *http.Request) bool {
	c, err := r.Cookie(CSRFCookie)
	if err != nil || !a.signed(c.Value) {
		return false
	}
	field := r.PostFormValue("csrf")
	return subtle.ConstantTimeCompare([]byte(field), []byte(c.Value)) == 1
}

func (a *anonymous) mac(v string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte("enclave portal csrf\x00" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *anonymous) signed(tok string) bool {
	v, sig, ok := strings.Cut(tok, ".")
	return ok && v != "" && hmac.Equal([]byte(sig), []byte(a.mac(v)))
}
