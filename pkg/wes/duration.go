package wes

import (
	"strings"
	"time"
)

// FormatDuration renders d for people, without trailing zero units: "2m", not "2m0s";
// "720h", not "720h0m0s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
