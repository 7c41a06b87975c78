package authtest

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	userCode   = regexp.MustCompile(`name="user_code"[^>]*value="([^"]*)"`)
)

// ApproveDevice does in Dex's web pages what a person does for the device flow: open
// verificationURIComplete, confirm the code, and log in as user with the password.
func (d *Dex) ApproveDevice(ctx context.Context, verificationURIComplete, user string) error {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return err
	}
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	page, base, err := fetch(ctx, hc, http.MethodGet, verificationURIComplete, nil)
	if err != nil {
		return fmt.Errorf("device page: %w", err)
	}
	code := userCode.FindStringSubmatch(page)
	if code == nil {
		return fmt.Errorf("device page has no user_code field")
	}
	page, base, err = submit(ctx, hc, base, page, url.Values{"user_code": {html.UnescapeString(code[1])}})
	if err != nil {
		return fmt.Errorf("confirming the code: %w", err)
	}
	page, _, err = submit(ctx, hc, base, page, url.Values{"login": {user + "@example.com"}, "password": {d.Password}})
	if err != nil {
		return fmt.Errorf("logging in: %w", err)
	}
	if !strings.Contains(page, "Login Successful") && !strings.Contains(page, "successful") {
		return fmt.Errorf("dex did not confirm the login")
	}
	return nil
}

// submit posts form to the action of the first form on page (relative to base).
func submit(ctx context.Context, hc *http.Client, base *url.URL, page string, form url.Values) (string, *url.URL, error) {
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		return "", nil, fmt.Errorf("no form on the page")
	}
	action, err := base.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return "", nil, err
	}
	return fetch(ctx, hc, http.MethodPost, action.String(), form)
}

// fetch sends a request (following redirects) and returns the final page and URL.
func fetch(ctx context.Context, hc *http.Client, method, u string, form url.Values) (string, *url.URL, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return "", nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("%s %s: %d", method, resp.Request.URL.Path, resp.StatusCode)
	}
	return string(b), resp.Request.URL, nil
}
