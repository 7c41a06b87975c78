package config

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spe4hd/enclave/pkg/notify"
	"github.com/spe4hd/enclave/pkg/wes"
)

// NotifyConfig configures notifications of run events: signed CloudEvents webhooks and
// e-mail (pkg/notify). Nothing is sent unless webhooks or smtp.host are set.
type NotifyConfig struct {
	// Source is the CloudEvents source of every event. Default "urn:enclave".
	Source string `yaml:"source"`
	// IncludeOwner adds the owner's subject (OIDC sub) to webhook payloads. Default false.
	IncludeOwner bool `yaml:"include_owner"`
	// AllowHTTPLoopback lets a webhook use http:// to a loopback host (tests, a local
	// relay); all others must use https. Default false.
	AllowHTTPLoopback bool `yaml:"allow_http_loopback"`
	// Timeout bounds one delivery attempt. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetry is how often a failed delivery is retried before it is dead-lettered.
	// Default 8.
	MaxRetry int `yaml:"max_retry"`
	// RetryBase is the wait before the first retry, doubled per retry up to RetryMax.
	// Defaults 10s and 10m.
	RetryBase time.Duration `yaml:"retry_base"`
	RetryMax  time.Duration `yaml:"retry_max"`
	// Webhooks receive the events they subscribe to. Default [].
	Webhooks Webhooks `yaml:"webhooks"`
	// SMTP is the mail server; host "" sends no mail.
	SMTP SMTPConfig `yaml:"smtp"`
	// Email says who is mailed.
	Email EmailConfig `yaml:"email"`
}

// Webhooks is the list of notify.webhooks.
type Webhooks []WebhookConfig

// WebhookConfig is one webhook receiver.
type WebhookConfig struct {
	// URL receives a POST per event: https (http only to loopback with
	// notify.allow_http_loopback).
	URL string `yaml:"url" json:"url"`
	// Secret keys the HMAC-SHA256 signature (at least 16 bytes). Secret: redacted.
	Secret string `yaml:"secret,omitempty" json:"secret,omitempty"`
	// SecretFile holds the secret instead (surrounding white space is trimmed).
	SecretFile string `yaml:"secret_file,omitempty" json:"secret_file,omitempty"`
	// Events are the event kinds sent (run.terminal, outputs.pending_review,
	// review.decided, output.released); [] sends all.
	Events []string `yaml:"events" json:"events"`
}

// SMTPConfig is the mail server of notifications.
type SMTPConfig struct {
	// Host is the SMTP submission server. Default "" (no mail).
	Host string `yaml:"host"`
	// Port of the server. Default 587.
	Port int `yaml:"port"`
	// Username authenticates (PLAIN, only over TLS). Default "" (no authentication).
	Username string `yaml:"username"`
	// PasswordFile holds the password. Default "".
	PasswordFile string `yaml:"password_file"`
	// From is the sender address. Required with host.
	From string `yaml:"from"`
	// StartTLS is required (never send without TLS) or opportunistic. Default required.
	StartTLS string `yaml:"starttls"`
	// CAFile holds the PEM certificates that verify the server; "" uses the system's.
	CAFile string `yaml:"ca_file"`
}

// EmailConfig says who is mailed.
type EmailConfig struct {
	// Reviewers are mailed when outputs wait for review. Owners are mailed of their own
	// runs' ends, decisions and releases when their token carried an e-mail address.
	// Default [].
	Reviewers []string `yaml:"reviewers"`
}

// webhookKeys are the keys of one webhook, for errors.
const webhookKeys = "url, secret or secret_file, events"

// set stores a YAML list of webhook mappings (or, from the environment, the same as a
// JSON array) into w.
func (w *Webhooks) set(v any, text bool) error {
	if s, ok := v.(string); ok && text {
		var out Webhooks
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out); err != nil {
			return fmt.Errorf("want a JSON list of webhooks ({%s}): %v", webhookKeys, err)
		}
		*w = out.normal()
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return fmt.Errorf("want a list of webhooks ({%s}), got %s", webhookKeys, describe(v))
	}
	out := make(Webhooks, 0, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("item %d: want a mapping of %s, got %s", i, webhookKeys, describe(item))
		}
		var h WebhookConfig
		for k, val := range m {
			var err error
			switch k {
			case "url":
				err = setValue(&h.URL, val, false)
			case "secret":
				err = setValue(&h.Secret, val, false)
			case "secret_file":
				err = setValue(&h.SecretFile, val, false)
			case "events":
				err = setValue(&h.Events, val, false)
			default:
				err = fmt.Errorf("unknown key (want %s)", webhookKeys)
			}
			if err != nil {
				return fmt.Errorf("item %d: %s: %v", i, k, err)
			}
		}
		out = append(out, h)
	}
	*w = out.normal()
	return nil
}

// normal gives every webhook a non-nil event list, as YAML's [] loads.
func (w Webhooks) normal() Webhooks {
	if w == nil {
		return Webhooks{}
	}
	for i := range w {
		if w[i].Events == nil {
			w[i].Events = []string{}
		}
	}
	return w
}

// clone deep-copies w.
func (w Webhooks) clone() Webhooks {
	out := slices.Clone(w)
	for i := range out {
		out[i].Events = slices.Clone(out[i].Events)
	}
	return out
}

// node renders w as the YAML list Load reads back.
func (w Webhooks) node() *yaml.Node {
	n := &yaml.Node{}
	if err := n.Encode([]WebhookConfig(w.normal())); err != nil {
		panic("config: encoding webhooks: " + err.Error())
	}
	if len(w) == 0 {
		n.Style = yaml.FlowStyle
	}
	return n
}

// validateNotify checks the notify section.
func (v *validator) notify(n NotifyConfig) {
	v.PositiveDuration("notify.timeout", n.Timeout)
	v.Check("notify.max_retry", n.MaxRetry >= 0, "must not be negative")
	v.PositiveDuration("notify.retry_base", n.RetryBase)
	v.Check("notify.retry_max", n.RetryMax >= n.RetryBase, "must be at least notify.retry_base")
	for i, h := range n.Webhooks {
		key := fmt.Sprintf("notify.webhooks[%d]", i)
		if err := notify.CheckURL(h.URL, n.AllowHTTPLoopback); err != nil {
			v.Add(key+".url", "%v", err)
		}
		switch {
		case h.Secret != "" && h.SecretFile != "":
			v.Add(key, "set secret or secret_file, not both")
		case h.Secret == "" && h.SecretFile == "":
			v.Add(key, "needs secret_file (or secret): deliveries are always signed")
		case h.Secret != "" && len(h.Secret) < 16:
			v.Add(key+".secret", "must be at least 16 bytes")
		}
		for _, k := range h.Events {
			v.Check(key+".events", slices.Contains(wes.NoticeKinds, k),
				fmt.Sprintf("unknown event %q (want some of %s)", k, strings.Join(wes.NoticeKinds, ", ")))
		}
	}
	s := n.SMTP
	if s.Host == "" {
		v.Check("notify.email.reviewers", len(n.Email.Reviewers) == 0, "needs notify.smtp.host to mail them")
		return
	}
	v.Check("notify.smtp.port", s.Port > 0 && s.Port < 65536, "must be a port number")
	v.Check("notify.smtp.from", validMailbox(s.From), fmt.Sprintf("%q is not a plain e-mail address", s.From))
	v.OneOf("notify.smtp.starttls", s.StartTLS, []string{notify.StartTLSRequired, notify.StartTLSOpportunistic})
	v.Check("notify.smtp.password_file", s.Username == "" || s.PasswordFile != "", "required with notify.smtp.username")
	for i, a := range n.Email.Reviewers {
		v.Check(fmt.Sprintf("notify.email.reviewers[%d]", i), validMailbox(a), fmt.Sprintf("%q is not a plain e-mail address", a))
	}
}

// validMailbox reports whether a is one plain address (local@domain).
func validMailbox(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && at < len(a)-1 && !strings.ContainsAny(a, " \t\r\n<>,;\"")
}

// NotifyEnabled reports whether anything is notified.
func (c Config) NotifyEnabled() bool { return len(c.Notify.Webhooks) > 0 || c.Notify.SMTP.Host != "" }

// ReadSecretFile reads a secret from path, trimmed of surrounding white space.
func ReadSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
