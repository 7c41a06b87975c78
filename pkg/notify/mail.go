package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Message is one plain-text e-mail to one recipient.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	// EventID is the notice the mail tells of, sent as a header for the recipient's
	// filters and as the base of the Message-ID.
	EventID string `json:"event_id"`
}

// mailFor returns the mail telling to of n: what happened, with the run id and the
// workflow id, and nothing from inside the zone.
func mailFor(n wes.Notice, to string) Message {
	wf := ""
	if n.Workflow != "" {
		wf = " (workflow " + n.Workflow + ")"
	}
	var subj, text string
	switch n.Kind {
	case wes.NoticeRunTerminal:
		subj = fmt.Sprintf("Run %s ended %s", n.RunID, n.State)
		text = fmt.Sprintf("Your run %s%s ended in state %s.", n.RunID, wf, n.State)
	case wes.NoticePendingReview:
		subj = fmt.Sprintf("Run %s: %d output(s) wait for review", n.RunID, n.Outputs[wes.OutputPending])
		text = fmt.Sprintf("Run %s%s ended with %d output(s) held for a data controller's review.", n.RunID, wf, n.Outputs[wes.OutputPending])
	case wes.NoticeReviewDecided:
		subj = fmt.Sprintf("Run %s: the review decided (%s)", n.RunID, n.Decision)
		text = fmt.Sprintf("A data controller decided on the held outputs of your run %s%s: %s.", n.RunID, wf, n.Decision)
	case wes.NoticeOutputReleased:
		subj = fmt.Sprintf("Run %s: outputs released", n.RunID)
		text = fmt.Sprintf("Outputs of your run %s%s were released and can be downloaded.", n.RunID, wf)
	default:
		subj, text = "Run "+n.RunID, "Run "+n.RunID+wf+": "+n.Kind+"."
	}
	if len(n.Outputs) > 0 {
		text += fmt.Sprintf("\n\nOutputs: %d released, %d pending review, %d rejected.",
			n.Outputs[wes.OutputReleased], n.Outputs[wes.OutputPending], n.Outputs[wes.OutputRejected])
	}
	text += "\n\nThis message was sent by Enclave; it holds no data from the run. See the run's status for details.\n"
	return Message{To: to, Subject: subj, Body: text, EventID: n.ID}
}

// recipients are whom n is mailed to: reviewers for pending review, the owner for the
// rest, when their address is known.
func recipients(n wes.Notice, reviewers []string) []string {
	if n.Kind == wes.NoticePendingReview {
		return reviewers
	}
	if n.OwnerEmail != "" {
		return []string{n.OwnerEmail}
	}
	return nil
}

// validAddress reports whether a is one plain address, so that no header or SMTP
// command can be smuggled in through it.
func validAddress(a string) bool {
	p, err := mail.ParseAddress(a)
	return err == nil && p.Address == a && !strings.ContainsAny(a, "\r\n<>")
}

// compose renders m as an RFC 5322 message from from.
func compose(from string, m Message, now time.Time) []byte {
	var b bytes.Buffer
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	host := from[strings.LastIndexByte(from, '@')+1:]
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s.%s@%s>\r\n", hex.EncodeToString(id), strconv.FormatInt(now.UnixNano(), 36), host)
	fmt.Fprintf(&b, "X-Enclave-Event-Id: %s\r\n", strings.NewReplacer("\r", "", "\n", "").Replace(m.EventID))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	return b.Bytes()
}

// errNoTLS is a required STARTTLS the server does not offer.
var errNoTLS = errors.New("the SMTP server does not offer STARTTLS, which notify.smtp.starttls requires")

// send delivers m through s, within timeout.
func send(ctx context.Context, s *SMTP, m Message, timeout time.Duration, now time.Time) error {
	if !validAddress(m.To) || !validAddress(s.From) {
		return errors.New("not a plain e-mail address")
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	tlsOn := false
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.Host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
		tlsOn = true
	} else if s.StartTLS == StartTLSRequired {
		return errNoTLS
	}
	if s.Username != "" && tlsOn { // credentials never cross in clear
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return fmt.Errorf("SMTP authentication: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(compose(s.From, m, now)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
