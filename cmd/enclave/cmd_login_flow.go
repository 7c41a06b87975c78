package main

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

	"github.com/spe4hd/enclave/pkg/auth"
)

// tokenResponse is a successful token endpoint answer (RFC 6749 section 5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// oauthError is an error answer of the token or device endpoint (RFC 6749 section 5.2).
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
	status      int
}

func (e *oauthError) Error() string {
	s := fmt.Sprintf("the provider refused the login (%d): %s", e.status, e.Code)
	if e.Description != "" {
		s += ": " + truncateText(e.Description, 200)
	}
	return s
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// post sends form to endpoint with the client's credentials and decodes a JSON answer
// into out, or returns an *oauthError. The form (password, device code) and the client
// secret never appear in an error.
func (o *loginOptions) post(ctx context.Context, endpoint string, form url.Values, out any) error {
	// client_id goes in the body even with Basic authentication: device endpoints (Dex's
	// among them) read it only from there.
	form.Set("client_id", o.clientID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if o.clientSecret != "" {
		// RFC 6749 section 2.3.1: both parts form-encoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(o.clientID), url.QueryEscape(o.clientSecret))
	}
	resp, err := o.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s %s: %w", ue.Op, endpoint, ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		e := &oauthError{status: resp.StatusCode}
		if json.Unmarshal(body, e) != nil || e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s answered with something other than JSON", endpoint)
	}
	return nil
}

// token calls the token endpoint.
func (o *loginOptions) token(ctx context.Context, endpoint string, form url.Values) (*tokenResponse, error) {
	var tr tokenResponse
	if err := o.post(ctx, endpoint, form, &tr); err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, errors.New("the provider answered without an access token")
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "Bearer") {
		return nil, fmt.Errorf("the provider issued a %q token, not a bearer token", tr.TokenType)
	}
	return &tr, nil
}

// deviceFlow runs the OAuth 2.0 device authorization grant (RFC 8628): it prints where
// to log in and polls the token endpoint until the user has done so.
func (o *loginOptions) deviceFlow(ctx context.Context, w io.Writer, meta *auth.ProviderMetadata) (*tokenResponse, error) {
	var da struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURI         string `json:"verification_uri"`
		VerificationURIComplete string `json:"verification_uri_complete"`
		ExpiresIn               int64  `json:"expires_in"`
		Interval                int64  `json:"interval"`
	}
	if err := o.post(ctx, meta.DeviceAuthorizationEndpoint, url.Values{"scope": {o.scope}}, &da); err != nil {
		return nil, err
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, errors.New("the provider's device authorization answer lacks device_code, user_code or verification_uri")
	}
	fmt.Fprintf(w, "To log in, open %s in a browser and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "(or open %s)\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(w, "Waiting for the login to complete...")
	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 section 3.2
	}
	expires := 10 * time.Minute
	if da.ExpiresIn > 0 {
		expires = time.Duration(da.ExpiresIn) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, expires)
	defer cancel()
	for {
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.New("the login was not completed in time; run enclave login again")
		case <-t.C:
		}
		tr, err := o.token(ctx, meta.TokenEndpoint, url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}})
		var oe *oauthError
		switch {
		case err == nil:
			return tr, nil
		case errors.As(err, &oe) && oe.Code == "authorization_pending":
		case errors.As(err, &oe) && oe.Code == "slow_down":
			interval += 5 * time.Second
		case errors.As(err, &oe) && oe.Code == "expired_token":
			return nil, errors.New("the login code expired; run enclave login again")
		case errors.As(err, &oe) && oe.Code == "access_denied":
			return nil, errors.New("the login was denied")
		case ctx.Err() != nil:
			return nil, errors.New("the login was not completed in time; run enclave login again")
		default:
			return nil, err
		}
	}
}
