package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook delivery. The signature is
//
//	X-Enclave-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))
//
// over the exact bytes of the body, where timestamp is the X-Enclave-Timestamp header
// (Unix seconds, set anew on every attempt). Binding the time into the MAC lets a
// receiver refuse a captured delivery replayed later: it checks the MAC, then that the
// timestamp is recent (Verify allows 5 minutes), then de-duplicates on the event id.
const (
	HeaderSignature = "X-Enclave-Signature"
	HeaderTimestamp = "X-Enclave-Timestamp"
	// HeaderDelivery names the delivery (the event id and the webhook), for logs.
	HeaderDelivery = "X-Enclave-Delivery"
)

// DefaultTolerance is how old a delivery's timestamp Verify accepts.
const DefaultTolerance = 5 * time.Minute

// Sign returns the X-Enclave-Signature value of body sent at timestamp ts (Unix seconds).
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery as a receiver would: the signature header sig over ts and
// body with secret, and ts within tolerance of now (either way). A receiver in another
// language does the same: recompute the HMAC, compare in constant time, check the time.
func Verify(secret []byte, sig, ts string, body []byte, now time.Time, tolerance time.Duration) error {
	if !strings.HasPrefix(sig, "sha256=") {
		return errors.New("notify: signature is not sha256=<hex>")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("notify: timestamp is not Unix seconds")
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body))) {
		return errors.New("notify: signature does not match")
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return errors.New("notify: timestamp is too far from now")
	}
	return nil
}
