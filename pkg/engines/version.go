package engines

import (
	"strconv"
	"strings"
)

// CompareVersions orders engine version strings such as "7.21.0", "3.1.20230209161050" or
// "23.10.1": numeric runs compare as numbers, other runs as text, left to right. It returns
// -1, 0 or +1.
func CompareVersions(a, b string) int {
	as, bs := splitVersion(a), splitVersion(b)
	for i := 0; i < len(as) && i < len(bs); i++ {
		if c := compareSegment(as[i], bs[i]); c != 0 {
			return c
		}
	}
	// One is a prefix of the other: a following number makes the longer one newer
	// (1.0 < 1.0.1), following text makes it a pre-release (1.0rc1 < 1.0).
	switch {
	case len(as) < len(bs):
		return -tail(bs[len(as)])
	case len(as) > len(bs):
		return tail(as[len(bs)])
	}
	return 0
}

func tail(seg string) int {
	if seg[0] >= '0' && seg[0] <= '9' {
		return 1
	}
	return -1
}

// Newest returns the highest of versions by CompareVersions, or "" for none.
func Newest(versions []string) string {
	best := ""
	for i, v := range versions {
		if i == 0 || CompareVersions(v, best) > 0 {
			best = v
		}
	}
	return best
}

// splitVersion cuts v into runs of digits and runs of letters; separators are dropped.
func splitVersion(v string) []string {
	var segs []string
	start := -1
	kind := 0 // 1 digits, 2 letters
	flush := func(i int) {
		if start >= 0 {
			segs = append(segs, v[start:i])
		}
		start, kind = -1, 0
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		k := 0
		switch {
		case c >= '0' && c <= '9':
			k = 1
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			k = 2
		}
		if k != kind {
			flush(i)
			if k != 0 {
				start, kind = i, k
			}
		}
	}
	flush(len(v))
	return segs
}

func compareSegment(a, b string) int {
	an, aerr := strconv.ParseUint(a, 10, 64)
	bn, berr := strconv.ParseUint(b, 10, 64)
	switch {
	case aerr == nil && berr == nil:
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	case aerr == nil: // a number sorts after text: 1.0 > 1.rc
		return 1
	case berr == nil:
		return -1
	}
	return strings.Compare(a, b)
}
