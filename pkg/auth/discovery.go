package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// ProviderMetadata is the part of an OpenID Provider's discovery document Enclave uses.
type ProviderMetadata struct {
	Issuer                      string   `json:"issuer"`
	AuthorizationEndpoint       string   `json:"authorization_endpoint"`
	TokenEndpoint               string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
	UserinfoEndpoint            string   `json:"userinfo_endpoint"`
	JWKSURI                     string   `json:"jwks_uri"`
	GrantTypesSupported         []string `json:"grant_types_supported"`
	ScopesSupported             []string `json:"scopes_supported"`
	// EndSessionEndpoint is where a relying party sends the browser to log out at the
	// provider too (OpenID Connect RP-Initiated Logout); "" when the provider has none.
	EndSessionEndpoint string `json:"end_session_endpoint"`
}

// maxDocumentBytes bounds what is read from the provider (discovery, keys, userinfo).
const maxDocumentBytes = 1 << 20

// errPermanent marks failures that retrying cannot fix (a misconfigured issuer).
type errPermanent struct{ err error }

func (e errPermanent) Error() string { return e.err.Error() }
func (e errPermanent) Unwrap() error { return e.err }

// Discover fetches and checks the discovery document of issuer. The document's issuer
// must equal issuer exactly (OpenID Connect Discovery 1.0, section 4.3), so a document
// served for another provider is never trusted.
func Discover(ctx context.Context, hc *http.Client, issuer string) (*ProviderMetadata, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	var m ProviderMetadata
	if err := getJSON(ctx, hc, u, "", &m); err != nil {
		return nil, fmt.Errorf("OIDC discovery at %s: %w", u, err)
	}
	if m.Issuer != issuer {
		return nil, errPermanent{fmt.Errorf("OIDC discovery at %s names the issuer %q, not %q: set the issuer exactly as the provider does (mind the trailing slash)", u, m.Issuer, issuer)}
	}
	for name, v := range map[string]string{"jwks_uri": m.JWKSURI, "token_endpoint": m.TokenEndpoint} {
		if !httpURL(v) {
			return nil, errPermanent{fmt.Errorf("OIDC discovery at %s: %s %q is not an http(s) URL", u, name, v)}
		}
	}
	// Optional endpoints that are not usable URLs are treated as absent.
	if !httpURL(m.UserinfoEndpoint) {
		m.UserinfoEndpoint = ""
	}
	if !httpURL(m.DeviceAuthorizationEndpoint) {
		m.DeviceAuthorizationEndpoint = ""
	}
	if !httpURL(m.EndSessionEndpoint) {
		m.EndSessionEndpoint = ""
	}
	return &m, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// httpStatusError is a non-2xx answer from the provider.
type httpStatusError struct{ status int }

func (e *httpStatusError) Error() string {
	return fmt.Sprintf("the provider answered %d %s", e.status, http.StatusText(e.status))
}

// getJSON GETs u and decodes a JSON answer into v. bearer, when set, is sent as the
// Authorization header and never appears in an error.
func getJSON(ctx context.Context, hc *http.Client, u, bearer string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err // the URL is known to the caller; the rest is the cause
		}
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &httpStatusError{resp.StatusCode}
	}
	if len(body) > maxDocumentBytes {
		return fmt.Errorf("the answer is larger than %d bytes", maxDocumentBytes)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return fmt.Errorf("the answer is %q, not JSON", mt)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("the answer is not valid JSON: %w", err)
	}
	return nil
}
