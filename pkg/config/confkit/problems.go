package confkit

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// FieldError is one problem with one configuration key.
type FieldError struct {
	Path   string // key path, e.g. "server.addr"
	Source string // where the value came from: a file name or an environment variable; "" for the merged result
	Msg    string // what is wrong and what would be right
}

func (e *FieldError) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("%s (from %s): %s", e.Path, e.Source, e.Msg)
	}
	return e.Path + ": " + e.Msg
}

// Problems collects every problem of one section of the configuration, each a
// *FieldError naming its key: a validation reports all of them at once, never only the
// first.
type Problems struct {
	section string
	errs    []error
}

// NewProblems collects the problems of the keys under section ("" for the whole file,
// "executor.slurm" for the slurm executor's keys): the methods take keys relative to it.
func NewProblems(section string) *Problems { return &Problems{section: section} }

// Key is the full path of key.
func (p *Problems) Key(key string) string {
	if p.section == "" {
		return key
	}
	return p.section + "." + key
}

// Err joins the problems, or is nil.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// Append adds errors that name their keys already (a parser's *FieldError, or another
// section's Err); nil ones are skipped and joined ones flattened.
func (p *Problems) Append(errs ...error) {
	for _, err := range errs {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			p.Append(j.Unwrap()...)
		} else if err != nil {
			p.errs = append(p.errs, err)
		}
	}
}

// Add reports a problem with key.
func (p *Problems) Add(key, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Path: p.Key(key), Msg: fmt.Sprintf(format, args...)})
}

// Check reports msg for key unless ok.
func (p *Problems) Check(key string, ok bool, msg string) {
	if !ok {
		p.Add(key, "%s", msg)
	}
}

// AtLeast checks that n is least or more.
func (p *Problems) AtLeast(key string, n, least int) {
	if n < least {
		p.Add(key, "%d is too small: must be %d or more", n, least)
	}
}

// PositiveDuration checks that d is more than 0.
func (p *Problems) PositiveDuration(key string, d time.Duration) {
	if d <= 0 {
		p.Add(key, "%s must be more than 0, like 10s", FormatDuration(d))
	}
}

// OneOf checks that s is one of allowed.
func (p *Problems) OneOf(key, s string, allowed []string) {
	if !slices.Contains(allowed, s) {
		p.Add(key, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
}

// NoSpace checks that s has no white space.
func (p *Problems) NoSpace(key, s string) {
	if strings.ContainsAny(s, " \t\r\n") {
		p.Add(key, "%q must not contain white space", s)
	}
}

// HostPort checks that s is host:port.
func (p *Problems) HostPort(key, s string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		p.Add(key, "%q is not host:port, like 127.0.0.1:8080", s)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.Add(key, "port %q in %q is not a number from 0 to 65535", port, s)
	}
	if strings.ContainsAny(host, " \t/") {
		p.Add(key, "host %q in %q is not a host name or IP address", host, s)
	}
}

// FormatDuration renders d without trailing zero units: "2m", not "2m0s" (wes.FormatDuration).
func FormatDuration(d time.Duration) string { return wes.FormatDuration(d) }
