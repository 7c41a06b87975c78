package auth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of Claimed: a header or payload past them is not decoded at all, and each value
// is cut to maxClaimedBytes.
const (
	maxClaimedHeader  = 64 << 10
	maxClaimedPayload = 16 << 10
	maxClaimedBytes   = 128
)

// Claimed returns the issuer and subject that the bearer token in an Authorization
// header value claims, read WITHOUT verifying anything: for the audit trail of refused
// tokens, which records who a token said it was, never the token. Each value is cut to
// 128 bytes and has control and format characters replaced, so a forged claim cannot
// forge lines or hide text in the trail. "" for whatever is missing or does not parse.
func Claimed(authorization string) (issuer, subject string) {
	if len(authorization) > maxClaimedHeader {
		return "", ""
	}
	scheme, tok, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ""
	}
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 || len(parts[1]) > maxClaimedPayload {
		return "", ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", ""
	}
	var c struct {
		Iss any `json:"iss"`
		Sub any `json:"sub"`
	}
	if json.Unmarshal(b, &c) != nil {
		return "", ""
	}
	return claimedString(c.Iss), claimedString(c.Sub)
}

// claimedString is v when it is a string, made safe to record.
func claimedString(v any) string {
	s, ok := v.(string)
	if !ok {
		return ""
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > maxClaimedBytes {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
