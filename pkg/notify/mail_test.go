package notify

import (
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/wes"
)

// The real SMTP server of these tests: Mailpit (scripts/mailpit.sh), started by
// scripts/test-services.sh with STARTTLS required and a fresh self-signed certificate.
const (
	smtpAddrEnv = "ENCLAVE_TEST_SMTP_ADDR" // host:port of its SMTP
	smtpAPIEnv  = "ENCLAVE_TEST_SMTP_API"  // base URL of its HTTP API
	smtpCAEnv   = "ENCLAVE_TEST_SMTP_CA"   // its certificate, to trust
)

// mailpit returns the SMTP config of the test server and its API's base URL. Without
// one the test is skipped, except under CI, where it fails.
func mailpit(t *testing.T, trustCA bool) (*SMTP, string) {
	t.Helper()
	addr, api, ca := os.Getenv(smtpAddrEnv), os.Getenv(smtpAPIEnv), os.Getenv(smtpCAEnv)
	if addr == "" || api == "" || ca == "" {
		msg := "no SMTP test server: run under scripts/test-services.sh (scripts/mailpit.sh build, then start)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIP: " + msg)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	s := &SMTP{Host: host, Port: p, Username: "enclave", Password: "test-password", From: "enclave@example.org",
		StartTLS: StartTLSRequired}
	if trustCA {
		pem, err := os.ReadFile(ca)
		if err != nil {
			t.Fatal(err)
		}
		s.RootCAs = x509.NewCertPool()
		if !s.RootCAs.AppendCertsFromPEM(pem) {
			t.Fatalf("no certificate in %s", ca)
		}
	}
	return s, api
}

// mailMessage is what Mailpit's API tells of one message.
type mailMessage struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	To      []struct {
		Address string `json:"Address"`
	} `json:"To"`
	Text string `json:"Text"`
}

// mailTo returns the messages Mailpit holds for address, each with its text.
func mailTo(t *testing.T, api, address string) []mailMessage {
	t.Helper()
	var list struct {
		Messages []mailMessage `json:"messages"`
	}
	get(t, api+"/api/v1/search?query="+url.QueryEscape("to:"+address), &list)
	var out []mailMessage
	for _, m := range list.Messages {
		var full mailMessage
		get(t, api+"/api/v1/message/"+m.ID, &full)
		out = append(out, full)
	}
	return out
}

func get(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestMailReachesSMTPServerOverSTARTTLS(t *testing.T) {
	smtp, api := mailpit(t, true)
	reviewer := testutil.UniqueName("reviewer-") + "@example.org"
	owner := testutil.UniqueName("owner-") + "@example.org"
	n, _ := start(t, Config{SMTP: smtp, Reviewers: []string{reviewer}})

	pending := notice(wes.NoticePendingReview)
	pending.OwnerEmail = owner
	done := notice(wes.NoticeRunTerminal)
	done.OwnerEmail = owner
	for _, no := range []wes.Notice{pending, done} {
		if err := n.Notify(ctx, no); err != nil {
			t.Fatal(err)
		}
	}
	var rm, om []mailMessage
	waitFor(t, "both mails in Mailpit", 20*time.Second, func() bool {
		rm, om = mailTo(t, api, reviewer), mailTo(t, api, owner)
		return len(rm) == 1 && len(om) == 1
	})
	if got, want := rm[0].Subject, "Run run-1: 2 output(s) wait for review"; got != want {
		t.Errorf("reviewer's subject = %q, want %q", got, want)
	}
	if !strings.Contains(rm[0].Text, "held for a data controller's review") {
		t.Errorf("reviewer's text: %q", rm[0].Text)
	}
	if got, want := om[0].Subject, "Run run-1 ended COMPLETE"; got != want {
		t.Errorf("owner's subject = %q, want %q", got, want)
	}
	// The owner is not told about the review queue, the reviewer not about the end.
	if len(mailTo(t, api, reviewer)) != 1 || len(mailTo(t, api, owner)) != 1 {
		t.Error("a recipient got a mail meant for the other")
	}
}

func TestMailRefusesAnUntrustedServer(t *testing.T) {
	smtp, api := mailpit(t, false) // the system's roots: Mailpit's certificate is not among them
	owner := testutil.UniqueName("owner-") + "@example.org"
	n, _ := start(t, Config{SMTP: smtp, MaxRetry: -1})
	no := notice(wes.NoticeRunTerminal)
	no.OwnerEmail = owner
	if err := n.Notify(ctx, no); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dead letter", 20*time.Second, func() bool { c, _ := n.DeadLetters(ctx); return c == 1 })
	if got := mailTo(t, api, owner); len(got) != 0 {
		t.Errorf("a mail went to a server whose certificate is not trusted: %v", got)
	}
}

func TestMailAddresses(t *testing.T) {
	for a, ok := range map[string]bool{
		"alice@example.org":                   true,
		"Alice <alice@example.org>":           false,
		"alice@example.org\r\nBcc: x@evil.io": false,
		"alice@example.org>\r\nRCPT TO:<x@y":  false,
		"":                                    false,
	} {
		if validAddress(a) != ok {
			t.Errorf("validAddress(%q) = %v, want %v", a, !ok, ok)
		}
	}
}
