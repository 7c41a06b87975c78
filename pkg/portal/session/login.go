package session

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// noticeExpired is the login page's notice for a session that ended.
const noticeExpired = "expired"

// attempt is a started login as Redis keeps it, under the digest of its state, until the
// provider's callback takes it (once).
type attempt struct {
	Verifier    string `json:"verifier"`
	Nonce       string `json:"nonce"`
	Return      string `json:"return"`
	Browser     string `json:"browser"` // digest of the login cookie: the callback must come from this browser
	RedirectURI string `json:"redirect_uri"`
}

// Handler serves GET auth/login?return=<path>, GET auth/callback and POST auth/logout
// under the prefix.
func (m *Manager) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		route := strings.TrimPrefix(r.URL.Path, m.authPath)
		switch {
		case route == "login" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			m.login(w, r)
		case route == "callback" && r.Method == http.MethodGet:
			m.callback(w, r)
		case route == "logout" && r.Method == http.MethodPost:
			m.logout(w, r)
		case route == "login" || route == "callback" || route == "logout":
			allow := http.MethodGet
			if route == "logout" {
				allow = http.MethodPost
			}
			w.Header().Set("Allow", allow)
			m.page(w, http.StatusMethodNotAllowed, "Not allowed here", "This address does not take that kind of request.", m.cfg.Prefix, "Go to the portal")
		default:
			m.page(w, http.StatusNotFound, "Page not found", "There is no such page.", m.cfg.Prefix, "Go to the portal")
		}
	})
}

// login starts the authorization code flow: it keeps the state, nonce and PKCE verifier
// in Redis, binds them to this browser with a cookie and sends the browser to the
// provider. With ?notice=expired it first says that the session ended.
func (m *Manager) login(w http.ResponseWriter, r *http.Request) {
	back, ok := m.localReturn(r.URL.Query().Get("return"))
	if !ok {
		m.page(w, http.StatusBadRequest, "Not a page of this portal",
			"The address to return to after logging in must be a page of this portal. Start again from the portal.", m.cfg.Prefix, "Go to the portal")
		return
	}
	if r.URL.Query().Get("notice") == noticeExpired {
		m.page(w, http.StatusOK, "Your session has ended",
			"You were logged out: your session was unused for "+human(m.cfg.IdleTimeout)+", is older than "+
				human(m.cfg.AbsoluteTimeout)+", or was ended at the identity provider. Log in again to continue.",
			m.authPath+"login?"+url.Values{"return": {back}}.Encode(), "Log in again")
		return
	}
	var ids [4]string
	for i := range ids {
		var err error
		if ids[i], err = newID(); err != nil {
			m.page(w, http.StatusInternalServerError, "Login failed", "The server could not start a login. Try again.", m.cfg.Prefix, "Go to the portal")
			return
		}
	}
	state, nonce, verifier, browser := ids[0], ids[1], ids[2], ids[3]
	redirectURI := m.redirectURI(r)
	b, _ := json.Marshal(attempt{Verifier: verifier, Nonce: nonce, Return: back, Browser: digest(browser), RedirectURI: redirectURI})
	if err := m.deps.Redis.Set(r.Context(), m.loginKey(state), b, loginTTL).Err(); err != nil {
		m.log.Error("storing a started login failed", "err", err)
		m.page(w, http.StatusServiceUnavailable, "Try again shortly", "The login cannot start right now (the session store does not answer). Try again in a minute.", m.cfg.Prefix, "Go to the portal")
		return
	}
	m.setCookie(w, m.loginCk, browser, loginTTL)
	challenge := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {m.cfg.ClientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {m.scopes},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	sep := "?"
	if strings.Contains(m.meta.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	http.Redirect(w, r, m.meta.AuthorizationEndpoint+sep+q.Encode(), http.StatusFound)
}

// callback ends the flow: it takes the login its state names (once), checks that it
// comes from the browser that started it, exchanges the code with the PKCE verifier,
// verifies the ID token (signature, issuer, audience, times, nonce) and maps it to a
// principal as the API does, then starts a session under a new id.
func (m *Manager) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	bc, _ := r.Cookie(m.loginCk)
	if e := q.Get("error"); e != "" {
		m.loginFailed(ctx, w, r, "provider_error", http.StatusBadRequest, "The identity provider did not log you in ("+clip(e, 60)+"). Try again.")
		return
	}
	state, code := q.Get("state"), q.Get("code")
	if state == "" || code == "" {
		m.loginFailed(ctx, w, r, "malformed_callback", http.StatusBadRequest, "This login answer lacks its state or code. Start the login again.")
		return
	}
	b, err := m.deps.Redis.GetDel(ctx, m.loginKey(state)).Bytes()
	var at attempt
	if err != nil || json.Unmarshal(b, &at) != nil {
		m.loginFailed(ctx, w, r, "unknown_state", http.StatusBadRequest, "This login is unknown, was already used or took longer than "+human(loginTTL)+". Start the login again.")
		return
	}
	m.clearCookie(w, m.loginCk) // the login it bound is used up
	if bc == nil || subtle.ConstantTimeCompare([]byte(digest(bc.Value)), []byte(at.Browser)) != 1 {
		m.loginFailed(ctx, w, r, "other_browser", http.StatusBadRequest, "This login was started in another browser or tab, or its cookie is gone. Start the login again here.")
		return
	}
	if at.Verifier == "" || at.Nonce == "" {
		m.loginFailed(ctx, w, r, "no_verifier", http.StatusBadRequest, "This login lacks its proof key. Start the login again.")
		return
	}
	tok, err := m.exchange(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {at.RedirectURI}, "code_verifier": {at.Verifier}})
	if err != nil {
		m.log.Warn("the provider refused a portal login's code exchange", "err", err)
		m.loginFailed(ctx, w, r, "code_exchange", http.StatusBadRequest, "The identity provider did not accept this login. Start the login again.")
		return
	}
	if tok.IDToken == "" {
		m.loginFailed(ctx, w, r, "no_id_token", http.StatusBadGateway, "The identity provider answered without an ID token. Tell the service's operators.")
		return
	}
	p, err := m.deps.Auth.PrincipalFromIDToken(ctx, tok.IDToken, m.cfg.ClientID, at.Nonce, tok.AccessToken)
	if err != nil {
		status := http.StatusBadRequest
		switch wes.ErrorCode(err) {
		case wes.EFORBIDDEN:
			status = http.StatusForbidden
		case wes.EUNAVAILABLE:
			status = http.StatusServiceUnavailable
		}
		m.loginFailed(ctx, w, r, "id_token", status, wes.ErrorMessage(err))
		return
	}
	// A session the browser had before is ended: the new one never reuses its id.
	if c, err := r.Cookie(m.cookie); err == nil && wellFormedID(c.Value) {
		m.deps.Redis.Del(ctx, m.sessionKey(c.Value))
	}
	if err := m.start(ctx, w, r, p, tok); err != nil {
		m.log.Error("starting a portal session failed", "err", err)
		m.page(w, http.StatusServiceUnavailable, "Try again shortly", "You could not be logged in right now: the session store or the audit trail does not answer. Try again in a minute.", m.cfg.Prefix, "Go to the portal")
		return
	}
	noStore(w)
	http.Redirect(w, r, at.Return, http.StatusSeeOther)
}

// start records the login in the audit trail (no session without it) and creates the
// session under a new random id.
func (m *Manager) start(ctx context.Context, w http.ResponseWriter, r *http.Request, p *wes.Principal, tok *tokens) error {
	id, err := newID()
	if err != nil {
		return err
	}
	csrf, err := newID()
	if err != nil {
		return err
	}
	now := m.clock()
	rec := &record{Principal: p, CSRF: csrf, Created: now, LastSeen: now, Issued: now,
		AccessExpiry: tok.expiry(now), RefreshToken: tok.RefreshToken, IDToken: tok.IDToken}
	d := map[string]string{"source": source(r), "roles": strings.Join(p.Roles, ",")}
	if err := m.record(ctx, wes.AuditEvent{Actor: p.Subject, Action: ActionLogin, Outcome: "ok", Detail: d}); err != nil {
		return err
	}
	if err := m.put(ctx, m.deps.Redis, m.sessionKey(id), rec, m.ttl(rec, now)); err != nil {
		return err
	}
	m.setCookie(w, m.cookie, id, 0)
	return nil
}

// loginFailed records a failed login (rate-limited per source address) and answers
// with a page that says what to do.
func (m *Manager) loginFailed(ctx context.Context, w http.ResponseWriter, r *http.Request, cause string, status int, msg string) {
	src := source(r)
	if m.limiter.allow(src, m.clock()) {
		_ = m.record(ctx, wes.AuditEvent{Actor: "unauthenticated", Action: ActionLogin, Outcome: "refused", Reason: msg,
			Detail: map[string]string{"cause": cause, "source": src}})
	}
	title := "Login failed"
	if status == http.StatusForbidden {
		title = "No access"
	}
	m.page(w, status, title, msg, m.authPath+"login", "Log in again")
}

// logout ends r's session (its CSRF token is required), clears the cookie and sends the
// browser to the provider's end_session_endpoint when it has one, else to the portal.
func (m *Manager) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(m.cookie)
	var rec *record
	var key string
	if err == nil {
		rec, key, _, err = m.load(ctx, c.Value)
	}
	if err != nil {
		// Nobody is logged in here: there is nothing to end.
		m.clearCookie(w, m.cookie)
		noStore(w)
		http.Redirect(w, r, m.cfg.Prefix, http.StatusSeeOther)
		return
	}
	got := r.PostFormValue("csrf")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(rec.CSRF)) != 1 {
		m.page(w, http.StatusForbidden, "This form has expired",
			"The logout form was not sent from a page of this portal (its security token is missing or wrong). Go back, reload the page and log out again.",
			m.cfg.Prefix, "Go to the portal")
		return
	}
	if err := m.deps.Redis.Del(ctx, key).Err(); err != nil {
		m.page(w, http.StatusServiceUnavailable, "Try again shortly", "You could not be logged out right now (the session store does not answer). Try again in a minute.", m.cfg.Prefix, "Go to the portal")
		return
	}
	if key != m.sessionKey(c.Value) {
		m.deps.Redis.Del(ctx, m.sessionKey(c.Value))
	}
	m.clearCookie(w, m.cookie)
	_ = m.record(ctx, wes.AuditEvent{Actor: rec.Principal.Subject, Action: ActionLogout, Outcome: "ok",
		Detail: map[string]string{"source": source(r)}})
	// A page, not a redirect: the form's page allows form-action 'self' only, and browsers
	// hold a POST's redirects to that, so a redirect on to the provider would be blocked.
	// A link is a navigation, which it does not limit.
	if end := m.afterLogout(r, rec); end != m.cfg.Prefix {
		m.page(w, http.StatusOK, "You are logged out",
			"You are logged out of this portal. You may still be signed in at your identity provider: log out there too, on a shared computer especially.",
			end, "Log out at your identity provider")
		return
	}
	m.page(w, http.StatusOK, "You are logged out", "You are logged out of this portal.", m.cfg.Prefix, "Log in again")
}

// afterLogout is where the logged-out page leads: RP-initiated logout at the provider
// when it has an end_session_endpoint, else the portal.
func (m *Manager) afterLogout(r *http.Request, rec *record) string {
	if m.meta.EndSessionEndpoint == "" {
		return m.cfg.Prefix
	}
	q := url.Values{"client_id": {m.cfg.ClientID}, "post_logout_redirect_uri": {m.baseURL(r) + m.cfg.Prefix}}
	if rec.IDToken != "" {
		q.Set("id_token_hint", rec.IDToken)
	}
	sep := "?"
	if strings.Contains(m.meta.EndSessionEndpoint, "?") {
		sep = "&"
	}
	return m.meta.EndSessionEndpoint + sep + q.Encode()
}

// record appends e to the audit trail; it outlives the request.
func (m *Manager) record(ctx context.Context, e wes.AuditEvent) error {
	e.Time = m.clock().UTC()
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := m.deps.Audit.Record(actx, e); err != nil {
		m.log.Error("a portal audit event could not be recorded", "action", e.Action, "err", err)
		return err
	}
	return nil
}

// redirectURI is the callback URL: configured, or the public URL's, or this request's.
func (m *Manager) redirectURI(r *http.Request) string {
	if m.cfg.RedirectURL != "" {
		return m.cfg.RedirectURL
	}
	return m.baseURL(r) + m.authPath + "callback"
}

// baseURL is server.public_url, or the scheme and host the request came to.
func (m *Manager) baseURL(r *http.Request) string {
	if m.cfg.PublicURL != "" {
		return m.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil || m.cfg.Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// source is the client's address (the proxy's, behind one).
func source(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// cleanPath is path.Clean keeping a trailing slash.
func cleanPath(p string) string {
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// clip cuts provider text for a page.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

// human writes a duration the way a person reads it (30m, 12h, 1h30m).
func human(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
