package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestNotifyConfig(t *testing.T) {
	path := writeFile(t, `
auth: {mode: none}
zone: {mode: open}
notify:
  allow_http_loopback: true
  webhooks:
    - url: https://hooks.example.org/enclave
      secret_file: /run/secrets/hook
      events: [run.terminal, outputs.pending_review]
    - url: http://127.0.0.1:9000/hook
      secret: 0123456789abcdef-inline
  smtp:
    host: smtp.example.org
    username: enclave
    password_file: /run/secrets/smtp
    from: enclave@example.org
    ca_file: /etc/enclave/smtp-ca.pem
  email:
    reviewers: [dc@example.org]
`)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Webhooks{
		{URL: "https://hooks.example.org/enclave", SecretFile: "/run/secrets/hook", Events: []string{"run.terminal", "outputs.pending_review"}},
		{URL: "http://127.0.0.1:9000/hook", Secret: "0123456789abcdef-inline", Events: []string{}},
	}
	if !reflect.DeepEqual(c.Notify.Webhooks, want) {
		t.Errorf("webhooks = %+v, want %+v", c.Notify.Webhooks, want)
	}
	if s := c.Notify.SMTP; s.Port != 587 || s.StartTLS != "required" || s.Host != "smtp.example.org" {
		t.Errorf("smtp = %+v", s)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	r := c.Redacted()
	if r.Notify.Webhooks[1].Secret != RedactedValue || c.Notify.Webhooks[1].Secret == RedactedValue {
		t.Errorf("Redacted: webhook secret %q (original %q)", r.Notify.Webhooks[1].Secret, c.Notify.Webhooks[1].Secret)
	}
	if strings.Contains(r.YAML(), "0123456789abcdef-inline") {
		t.Error("Redacted().YAML() shows a webhook secret")
	}
	// What YAML() writes loads back.
	back, err := Load(writeFile(t, c.YAML()), nil)
	if err != nil || !reflect.DeepEqual(back.Notify, c.Notify) {
		t.Errorf("round trip: %v\n got %+v\nwant %+v", err, back.Notify, c.Notify)
	}

	// The environment takes a JSON list.
	c, err = Load("", []string{`ENCLAVE_NOTIFY_WEBHOOKS=[{"url":"https://h.example.org","secret_file":"/s","events":["review.decided"]}]`})
	if err != nil || len(c.Notify.Webhooks) != 1 || c.Notify.Webhooks[0].Events[0] != "review.decided" {
		t.Errorf("from the environment: %+v, %v", c.Notify.Webhooks, err)
	}
}

func TestNotifyConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"notify: {webhooks: [{url: http://hooks.example.org, secret_file: /s}]}", "notify.webhooks[0].url: the URL must use https"},
		{"notify: {allow_http_loopback: true, webhooks: [{url: http://10.0.0.1/h, secret_file: /s}]}", "notify.webhooks[0].url"},
		{"notify: {webhooks: [{url: https://h.example.org}]}", "notify.webhooks[0]: needs secret_file"},
		{"notify: {webhooks: [{url: https://h.example.org, secret: short}]}", "notify.webhooks[0].secret: must be at least 16 bytes"},
		{"notify: {webhooks: [{url: https://h.example.org, secret_file: /s, events: [run.done]}]}", `unknown event "run.done"`},
		{"notify: {webhooks: [{url: https://h.example.org, secret_file: /s, method: PUT}]}", "item 0: method: unknown key"},
		{"notify: {webhooks: https://h.example.org}", "want a list of webhooks"},
		{"notify: {smtp: {host: smtp.example.org}}", "notify.smtp.from"},
		{"notify: {smtp: {host: smtp.example.org, from: a@b.org, starttls: never}}", "notify.smtp.starttls"},
		{"notify: {email: {reviewers: [dc@example.org]}}", "notify.email.reviewers: needs notify.smtp.host"},
	} {
		c, err := Load(writeFile(t, "auth: {mode: none}\nzone: {mode: open}\n"+tc.yaml), nil)
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.yaml, err, tc.want)
		}
	}
}
