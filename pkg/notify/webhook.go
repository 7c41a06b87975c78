package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxResponseBytes bounds what is read of a receiver's answer: only its status matters,
// and the body is drained so the connection can be reused.
const maxResponseBytes = 64 << 10

// newHTTPClient returns the client of webhook deliveries: bounded by timeout as a
// whole, following no redirect (a 3xx is a failed delivery: the body and its signature
// are for the configured URL only, never for wherever a receiver points).
func newHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = timeout
	t.MaxResponseHeaderBytes = 16 << 10
	return &http.Client{
		Transport:     t,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// post delivers body to w once, signed at now. Any answer but 2xx is an error.
func post(ctx context.Context, hc *http.Client, w Webhook, delivery string, body []byte, now time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", "enclave-notify")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(w.Secret, ts, body))
	req.Header.Set(HeaderDelivery, delivery)
	resp, err := hc.Do(req)
	if err != nil {
		// The URL is in the error; it is the operator's own configuration, but its query
		// may hold a token, so only the webhook's id is logged by callers.
		return fmt.Errorf("webhook unreachable: %w", stripURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// stripURL drops the URL from a client error, keeping what went wrong.
func stripURL(err error) error {
	if ue, ok := err.(interface{ Unwrap() error }); ok {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
