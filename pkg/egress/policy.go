package egress

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Limits bound what one run may release. A zero field means "use the next default":
// the policy's own value wins, then the deployment's Limits, then DefaultLimits.
type Limits struct {
	MaxFileBytes  int64 // largest single file released
	MaxTotalBytes int64 // sum of all released files
	MaxFiles      int   // number of files released
	// Approvals is the fewest distinct reviewers who must approve a held file
	// (zone.review.approvals); a workflow may ask for more. Zero means one.
	Approvals int
}

// DefaultLimits apply when neither the policy nor the deployment sets a limit.
var DefaultLimits = Limits{
	MaxFileBytes:  1 << 30, // 1 GiB
	MaxTotalBytes: 5 << 30, // 5 GiB
	MaxFiles:      1000,
}

// effective merges the policy's limits over the deployment's over DefaultLimits.
func effective(pol wes.OutputPolicy, d Limits) Limits {
	return DefaultLimits.over(d).over(Limits{MaxFileBytes: pol.MaxFileBytes, MaxTotalBytes: pol.MaxTotalBytes, MaxFiles: pol.MaxFiles})
}

// MaxApprovals bounds how many distinct approvals a file may need.
const MaxApprovals = 5

// RequiredApprovals is how many distinct reviewers must approve a held file of a workflow
// with policy pol in a deployment with limits d: the larger of the two, at least one.
func RequiredApprovals(pol wes.OutputPolicy, d Limits) int {
	return max(1, pol.Approvals, d.Approvals)
}

// over returns l with each limit o sets (above 0) taking its place.
func (l Limits) over(o Limits) Limits {
	if o.MaxFileBytes > 0 {
		l.MaxFileBytes = o.MaxFileBytes
	}
	if o.MaxTotalBytes > 0 {
		l.MaxTotalBytes = o.MaxTotalBytes
	}
	if o.MaxFiles > 0 {
		l.MaxFiles = o.MaxFiles
	}
	return l
}

// ValidatePolicy checks an output policy as the catalogue loader and Select need it:
// every glob valid doublestar syntax, relative, with no empty, "." or ".." element (also
// not inside {a,b} alternatives), and no negative limit. EINVALID names the field.
// The catalogue checker should call it so a bad entry is refused at load, not at run end.
func ValidatePolicy(pol wes.OutputPolicy) error {
	for i, g := range pol.Globs {
		field := func(why string) error {
			return wes.Errorf(wes.EINVALID, "outputs.globs[%d] %q: %s", i, g, why)
		}
		switch {
		case g == "":
			return field("is empty; write a pattern relative to the work directory, e.g. results/*.csv")
		case strings.HasPrefix(g, "/"):
			return field("is absolute; patterns are relative to the work directory")
		case strings.ContainsRune(g, 0) || !utf8.ValidString(g):
			return field("is not valid text")
		case !doublestar.ValidatePattern(g):
			return field("is not a valid glob (check brackets and braces)")
		}
		// Split on the separators and on alternative syntax, so "{a,..}/x" is caught too.
		for _, part := range strings.FieldsFunc(g, func(r rune) bool { return strings.ContainsRune("{},", r) }) {
			for _, el := range strings.Split(part, "/") {
				switch el {
				case "..":
					return field(`contains ".."; outputs can only come from inside the work directory`)
				case ".":
					return field(`contains a "." element; drop the "./"`)
				}
			}
		}
		if strings.Contains(g, "//") || strings.HasSuffix(g, "/") {
			return field("has an empty path element")
		}
	}
	switch {
	case pol.MaxFileBytes < 0:
		return wes.Errorf(wes.EINVALID, "outputs.max_file_bytes is negative; use 0 for the default")
	case pol.MaxTotalBytes < 0:
		return wes.Errorf(wes.EINVALID, "outputs.max_total_bytes is negative; use 0 for the default")
	case pol.MaxFiles < 0:
		return wes.Errorf(wes.EINVALID, "outputs.max_files is negative; use 0 for the default")
	}
	return nil
}

// matches reports whether a slash-separated relative path matches one of the globs.
// The globs were validated, so the unvalidated (faster) matcher is safe.
func matches(globs []string, rel string) bool {
	for _, g := range globs {
		if doublestar.MatchUnvalidated(g, rel) {
			return true
		}
	}
	return false
}

// MaxKeyBytes is the longest object key the stores accept (S3's own limit).
const MaxKeyBytes = 1024

// ValidateKey checks an object key for the stores: non-empty, at most MaxKeyBytes,
// valid UTF-8 without control characters or backslashes, relative, and made of non-empty
// elements other than "." and "..". With prefix true, a trailing "/" is allowed (a key
// prefix such as "owner/run/"). EINVALID says what is wrong.
func ValidateKey(key string, prefix bool) error {
	what := "object key"
	if prefix {
		what = "key prefix"
	}
	switch {
	case key == "":
		return wes.Errorf(wes.EINVALID, "%s is empty", what)
	case len(key) > MaxKeyBytes:
		return wes.Errorf(wes.EINVALID, "%s is longer than %d bytes", what, MaxKeyBytes)
	case !utf8.ValidString(key):
		return wes.Errorf(wes.EINVALID, "%s is not valid UTF-8", what)
	case strings.HasPrefix(key, "/"):
		return wes.Errorf(wes.EINVALID, "%s %q is absolute", what, key)
	case strings.ContainsRune(key, '\\'):
		return wes.Errorf(wes.EINVALID, "%s %q contains a backslash", what, key)
	case strings.IndexFunc(key, unicode.IsControl) >= 0:
		return wes.Errorf(wes.EINVALID, "%s contains a control character", what)
	}
	k := key
	if prefix {
		k = strings.TrimSuffix(k, "/")
	}
	for _, el := range strings.Split(k, "/") {
		switch el {
		case "", ".", "..":
			return wes.Errorf(wes.EINVALID, "%s %q has an empty, \".\" or \"..\" element", what, key)
		}
	}
	return nil
}

// KeyPrefix returns the per-owner, per-run prefix released objects are stored under:
// "<owner-hash>/<run-id>/". The owner's subject is hashed so keys never carry an
// identity (or characters an object store dislikes), yet one owner's objects share a
// prefix. runID must already be a valid run id.
func KeyPrefix(owner, runID string) string {
	h := sha256.Sum256([]byte(owner))
	return hex.EncodeToString(h[:16]) + "/" + runID + "/"
}
