package notify

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Config says who is notified of what, and how deliveries are retried. Zero fields take
// the defaults named.
type Config struct {
	// Source is the CloudEvents source of every event. Default "urn:enclave".
	Source string
	// IncludeOwner adds the owner's subject to webhook payloads. Default false.
	IncludeOwner bool
	// Webhooks receive the events they subscribe to.
	Webhooks []Webhook
	// AllowHTTPLoopback lets a webhook use http:// when its host is a loopback address
	// (tests, a local relay); every other webhook must use https. Default false.
	AllowHTTPLoopback bool
	// Timeout bounds one delivery attempt (connect, TLS, request, response). Default 10s.
	Timeout time.Duration
	// MaxRetry is how often a failed delivery is retried before it is dead-lettered.
	// Default 8 (about 40 minutes of tries with the default waits).
	MaxRetry int
	// RetryBase is the wait before the first retry; it doubles with every retry up to
	// RetryMax. Defaults 10s and 10m.
	RetryBase, RetryMax time.Duration
	// SMTP sends e-mail; nil sends none.
	SMTP *SMTP
	// Reviewers are mailed when outputs wait for review. Owners are mailed of their
	// runs' terminal states, decisions and releases when their address is known.
	Reviewers []string
	// Queue is the asynq queue of deliveries. Default "enclave-notify".
	Queue string
	// KeyPrefix starts the Redis keys of the dead-letter count. Default "enclave:".
	KeyPrefix string
	// Concurrency is how many deliveries one worker makes at once. Default 5.
	Concurrency int
	// PollInterval is how often an idle worker looks for deliveries and for retries
	// that are due. Default 1s.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Webhook is one receiver.
type Webhook struct {
	// URL receives a POST per event. https, or http to a loopback host with
	// AllowHTTPLoopback.
	URL string
	// Secret keys the HMAC of every delivery. Required, at least 16 bytes.
	Secret []byte
	// Events are the notice kinds (wes.NoticeKinds) it receives; empty: all.
	Events []string
}

// id names the webhook in task ids and logs without its URL's query (which may hold a
// token): a hash of the URL.
func (w Webhook) id() string {
	s := sha256.Sum256([]byte(w.URL))
	return hex.EncodeToString(s[:6])
}

func (w Webhook) wants(kind string) bool {
	return len(w.Events) == 0 || slices.Contains(w.Events, kind)
}

// SMTP is the mail server.
type SMTP struct {
	// Host and Port of the submission server. Port default 587.
	Host string
	Port int
	// Username and Password authenticate (PLAIN, only over TLS); empty Username: none.
	Username, Password string
	// From is the envelope and header sender. Required.
	From string
	// StartTLS is "required" (default: refuse to send without TLS) or "opportunistic"
	// (upgrade when offered, else send in clear, without credentials).
	StartTLS string
	// RootCAs verifies the server's certificate; nil uses the system's.
	RootCAs *x509.CertPool
}

func (c Config) withDefaults() Config {
	if c.Source == "" {
		c.Source = "urn:enclave"
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	switch {
	case c.MaxRetry == 0:
		c.MaxRetry = 8
	case c.MaxRetry < 0:
		c.MaxRetry = 0
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 10 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 10 * time.Minute
	}
	if c.Queue == "" {
		c.Queue = "enclave-notify"
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "enclave:"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 5
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SMTP != nil {
		s := *c.SMTP
		if s.Port == 0 {
			s.Port = 587
		}
		if s.StartTLS == "" {
			s.StartTLS = StartTLSRequired
		}
		c.SMTP = &s
	}
	return c
}

// StartTLS modes.
const (
	StartTLSRequired      = "required"
	StartTLSOpportunistic = "opportunistic"
)

func (c Config) validate() error {
	var errs []error
	for i, w := range c.Webhooks {
		if err := CheckURL(w.URL, c.AllowHTTPLoopback); err != nil {
			errs = append(errs, fmt.Errorf("webhook %d: %w", i, err))
		}
		if len(w.Secret) < 16 {
			errs = append(errs, fmt.Errorf("webhook %d: the secret must be at least 16 bytes", i))
		}
		for _, k := range w.Events {
			if !slices.Contains(wes.NoticeKinds, k) {
				errs = append(errs, fmt.Errorf("webhook %d: unknown event %q (want one of %s)", i, k, strings.Join(wes.NoticeKinds, ", ")))
			}
		}
	}
	if s := c.SMTP; s != nil {
		switch {
		case s.Host == "":
			errs = append(errs, errors.New("smtp: host is required"))
		case s.From == "":
			errs = append(errs, errors.New("smtp: from is required"))
		case s.StartTLS != StartTLSRequired && s.StartTLS != StartTLSOpportunistic:
			errs = append(errs, fmt.Errorf("smtp: starttls must be %s or %s", StartTLSRequired, StartTLSOpportunistic))
		}
	}
	return errors.Join(errs...)
}

// CheckURL refuses a webhook URL that is not absolute https (or http to a loopback host
// when allowHTTPLoopback), or that carries user information.
func CheckURL(raw string, allowHTTPLoopback bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("the URL must be absolute, like https://hooks.example.org/enclave")
	}
	if u.User != nil {
		return fmt.Errorf("the URL must not carry a user or password")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTPLoopback && loopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("the URL must use https (http only to a loopback host, with allow_http_loopback)")
	}
	return fmt.Errorf("the URL must use https")
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
