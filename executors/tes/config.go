package tes

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spe4hd/enclave/executors/internal/defaults"
)

// Name is the tes executor's registry name.
const Name = "tes"

// Defaults.
const (
	DefaultTimeout  = 30 * time.Second
	DefaultPageSize = 256
)

// Config configures the tes executor. New never reads the environment itself.
type Config struct {
	// URL is the base URL of the TES API, the part before /tasks, e.g.
	// "https://tes.example.org/ga4gh/tes/v1". Required. It must not carry credentials:
	// use Token or Username/Password.
	URL string
	// Token, when set, is sent as "Authorization: Bearer <Token>". Never logged.
	Token string
	// Username and Password, when set, are sent as HTTP basic authentication (instead of
	// Token). Never logged.
	Username string
	Password string
	// Image is the container image of jobs whose job.Image is empty. The TES server must
	// be able to run it. Required unless every job names its image.
	Image string
	// StageImage runs the step that copies the job's work directory into place before the
	// job (it needs `cp`). Default: the job's image.
	StageImage string
	// AllowedDirs are the directories whose files the executor may hand to the TES server
	// as file:// URLs: every job's work directory and dataset must be inside one of them.
	// The TES server must see them at the same paths (a shared file system) and be allowed
	// to read and write them (Funnel: LocalStorage.AllowedDirs). Required.
	AllowedDirs []string
	// BackendParameters names the job.Params that are passed to the TES server as
	// resources.backend_parameters; other params are not sent. Default: none.
	BackendParameters []string
	// Timeout bounds each HTTP request to the TES server. Default: DefaultTimeout.
	Timeout time.Duration
	// PageSize is the page size of task listings. Default: DefaultPageSize.
	PageSize int
	// HTTPClient, when set, sends the requests (custom TLS, proxies); its own Timeout is
	// then the caller's business. Default: an http.Client with Timeout.
	HTTPClient *http.Client
	// Logger receives the executor's logs. Default: discard.
	Logger *slog.Logger
}

// LogValue logs the configuration without its secrets.
func (c Config) LogValue() slog.Value {
	red := func(s string) string {
		if s == "" {
			return ""
		}
		return "[redacted]"
	}
	return slog.GroupValue(
		slog.String("url", c.URL), slog.String("token", red(c.Token)),
		slog.String("username", c.Username), slog.String("password", red(c.Password)),
		slog.String("image", c.Image), slog.Any("allowed_dirs", c.AllowedDirs),
		slog.Any("backend_parameters", c.BackendParameters), slog.Duration("timeout", c.Timeout),
	)
}

// safePath is what a path must look like to travel in a file:// URL and in a container
// runtime's volume argument: Funnel builds `docker run` from a text template split at
// white space, reads file:// URLs without unescaping, and separates volume fields by ':'.
var safePath = regexp.MustCompile(`^/[A-Za-z0-9._+@=,~/-]*$`)

func (c Config) withDefaults() (Config, *url.URL, error) {
	var errs []error
	u, err := url.Parse(strings.TrimRight(c.URL, "/"))
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("tes executor: URL is required (the base URL of the TES API)"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("tes executor: URL %q must be an http(s) URL with a host", c.URL))
	case u.User != nil:
		errs = append(errs, errors.New("tes executor: URL must not contain credentials; set Username/Password or Token"))
	case u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, errors.New("tes executor: URL must not have a query or fragment"))
	}
	if c.Token != "" && (c.Username != "" || c.Password != "") {
		errs = append(errs, errors.New("tes executor: set Token or Username/Password, not both"))
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, errors.New("tes executor: Username and Password go together"))
	}
	for _, s := range []struct{ name, v string }{{"Image", c.Image}, {"StageImage", c.StageImage}} {
		if strings.ContainsFunc(s.v, isSpaceOrControl) {
			errs = append(errs, fmt.Errorf("tes executor: %s %q must not contain white space", s.name, s.v))
		}
	}
	if len(c.AllowedDirs) == 0 {
		errs = append(errs, errors.New("tes executor: AllowedDirs is required: the directories shared with the TES server"))
	}
	dirs := make([]string, 0, len(c.AllowedDirs))
	for i, d := range c.AllowedDirs {
		if !filepath.IsAbs(d) || !safePath.MatchString(filepath.Clean(d)) {
			errs = append(errs, fmt.Errorf("tes executor: AllowedDirs[%d] %q must be an absolute path of letters, digits and ._+@=,~-", i, d))
			continue
		}
		dirs = append(dirs, filepath.Clean(d))
	}
	c.AllowedDirs = dirs
	errs = append(errs, defaults.Duration(&c.Timeout, DefaultTimeout, "tes executor: Timeout"))
	switch {
	case c.PageSize < 0 || c.PageSize > 2048:
		errs = append(errs, fmt.Errorf("tes executor: PageSize %d must be between 1 and 2048", c.PageSize))
	case c.PageSize == 0:
		c.PageSize = DefaultPageSize
	}
	defaults.Logger(&c.Logger)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: c.Timeout}
	}
	if err := errors.Join(errs...); err != nil {
		return c, nil, err
	}
	return c, u, nil
}

// insecureCredentials reports whether credentials would cross a network in clear text.
func insecureCredentials(c Config, u *url.URL) bool {
	if u.Scheme == "https" || (c.Token == "" && c.Password == "") {
		return false
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return host != "localhost" && (ip == nil || !ip.IsLoopback())
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// allowed reports whether the clean absolute path p is one of dirs or inside one.
func allowed(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}
