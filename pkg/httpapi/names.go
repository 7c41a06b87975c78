package httpapi

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Limits on attachment names.
const (
	maxNameBytes    = 1024
	maxSegmentBytes = 255
)

// checkAttachmentName accepts a relative path of plain segments separated by "/": no
// absolute paths, no "." or ".." segments, no empty segments, no backslashes, no control
// characters, valid UTF-8. Such a name always stays inside the directory it is joined to.
func checkAttachmentName(name string) error {
	q := truncate(name, 100)
	bad := func(why string) error {
		return wes.Errorf(wes.EINVALID, "attachment filename %q is not accepted: %s", q, why)
	}
	switch {
	case name == "":
		return wes.Errorf(wes.EINVALID, "an attachment has an empty filename")
	case len(name) > maxNameBytes:
		return bad("it is longer than 1024 bytes")
	case !utf8.ValidString(name):
		return bad("it is not valid UTF-8")
	case strings.ContainsRune(name, '\\'):
		return bad(`it contains a backslash; separate directories with "/"`)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return bad("it contains control characters")
	case strings.HasPrefix(name, "/"):
		return bad("it is an absolute path; use a path relative to the workflow's directory")
	}
	for _, seg := range strings.Split(name, "/") {
		switch {
		case seg == "":
			return bad(`it has an empty path segment ("//" or a trailing "/")`)
		case seg == "..":
			return bad(`it refers to a parent directory with ".."`)
		case seg == ".":
			return bad(`it has a "." path segment`)
		case len(seg) > maxSegmentBytes:
			return bad("a path segment is longer than 255 bytes")
		}
	}
	return nil
}
