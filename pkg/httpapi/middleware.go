package httpapi

import (
	"context"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// publicPaths may be called without credentials. Credentials that are sent are still
// checked, so service-info can show a signed-in caller their own counts.
var publicPaths = map[string]bool{
	BasePath + "/service-info": true,
	BasePath + "/openapi.yaml": true,
}

type baseURLKey struct{}

// requestContext authenticates the caller and puts the principal, the API's external base
// URL and the route into the request context, before any handler or parameter check
// runs. Every request passes here, so it allocates little: the route's description is
// looked up (routeNames), the base URL is worked out only by the handlers that ask
// (baseURLFrom), and the request is copied once, with its final context.
func (s *server) requestContext(c *gin.Context) {
	ctx := context.WithValue(c.Request.Context(), baseURLKey{}, s.baseURLSource(c.Request))
	// The route, for the audit events of refusals: its template, never the ids in it.
	route, ok := s.routeNames[routeKey{c.Request.Method, c.FullPath()}]
	if !ok {
		route = routeOf(c)
	}
	ctx = runs.WithRequest(ctx, route)
	p, err := s.principal(ctx, c)
	if err != nil {
		c.Request = c.Request.WithContext(ctx)
		s.abortWithError(c, err)
		return
	}
	if p != nil {
		ctx = wes.NewContextWithPrincipal(ctx, p)
	}
	// The strict handlers see only the body and parameters the API declares.
	if v, ok := c.Request.Header[IdempotencyHeader]; ok {
		ctx = context.WithValue(ctx, idemKeyCtx{}, strings.Join(v, ","))
	}
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// principal returns the caller, or nil for an anonymous call to a public path. ctx is
// the request's context with its route, for the audit of a refused token.
func (s *server) principal(ctx context.Context, c *gin.Context) (*wes.Principal, error) {
	if s.deps.Authenticate == nil {
		return wes.Anonymous, nil
	}
	if publicPaths[c.FullPath()] && c.GetHeader("Authorization") == "" {
		return nil, nil
	}
	p, err := s.deps.Authenticate(c.Request)
	if wes.IsCode(err, wes.EFORBIDDEN) && publicPaths[c.FullPath()] {
		return nil, nil // a valid user without access still sees the public view
	}
	if err == nil && (p == nil || p.Subject == "") {
		err = wes.Errorf(wes.EUNAUTHORIZED, "authentication required: send a bearer token in the Authorization header")
	}
	if err != nil {
		s.authFailure(c, err)
		// Refused tokens and users without access are audited; a provider that cannot
		// be reached is not a refusal.
		if code := wes.ErrorCode(err); code == wes.EUNAUTHORIZED || code == wes.EFORBIDDEN {
			// Rate-limited per source address: the TCP peer, which a client cannot
			// choose as it can X-Forwarded-For.
			s.runs.RefuseToken(ctx, c.GetHeader("Authorization"), c.RemoteIP(), statusOf(err), err)
		}
		return nil, err
	}
	return p, nil
}

// baseURLSource is what requestContext keeps for baseURLFrom: the configured base URL
// (boxed once, in New), or the request to work it out from when a handler asks.
func (s *server) baseURLSource(r *http.Request) any {
	if s.publicBase != nil {
		return s.publicBase
	}
	return r
}

// requestBaseURL is the absolute URL of the API root as the client of r sees it, when no
// PublicURL is configured.
func requestBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// A proxy in front may terminate TLS; only the two sensible values are believed.
	if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if host == "" || strings.ContainsAny(host, "/\\ \t\r\n@?#") {
		host = "localhost"
	}
	return scheme + "://" + host + BasePath
}

// baseURLFrom returns the absolute URL of the API root for the request requestContext
// saw: the configured PublicURL under BasePath, or one made from the request's Host and
// scheme.
func baseURLFrom(ctx context.Context) string {
	switch v := ctx.Value(baseURLKey{}).(type) {
	case string:
		return v
	case *http.Request:
		return requestBaseURL(v)
	}
	return ""
}

// checkSubmitBody guards the body of a run submission: it must be multipart/form-data
// (Go's multipart reader would also take multipart/mixed), and it is capped at
// MaxRequestBytes; reading past the cap fails with *http.MaxBytesError, which the form
// reader reports as ETOOLARGE. A declared Content-Length over the cap is refused before
// anything is read.
func (s *server) checkSubmitBody(c *gin.Context) {
	if c.Request.Method != http.MethodPost || c.FullPath() != BasePath+"/runs" {
		c.Next()
		return
	}
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		s.abortWithError(c, wes.Errorf(wes.EINVALID,
			"the request body must be multipart/form-data with a boundary; got Content-Type %q", truncate(c.GetHeader("Content-Type"), 100)))
		return
	}
	if c.Request.ContentLength > s.cfg.MaxRequestBytes {
		s.abortWithError(c, tooLargeBody(s.cfg.MaxRequestBytes))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxRequestBytes)
	c.Next()
}

func tooLargeBody(limit int64) error {
	return wes.Errorf(wes.ETOOLARGE, "the request body is larger than the limit of %d bytes", limit)
}

// accessLog writes one debug line per request; the path is the route pattern when there
// is one, so run ids and tokens stay out of the log. Its attributes are made only when
// the line is written: boxing them for a disabled level cost allocations every request.
func (s *server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	ctx := c.Request.Context()
	if !s.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	route := c.FullPath()
	if route == "" {
		route = "(no route)"
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, "request", slog.String("method", c.Request.Method), slog.String("route", route),
		slog.Int("status", c.Writer.Status()), slog.Duration("duration", time.Since(start)))
}

// routeNames describes each of e's routes as routeOf does, so that requestContext need
// not build the description for every request.
func routeNames(e *gin.Engine) map[routeKey]string {
	m := map[routeKey]string{}
	for _, r := range e.Routes() {
		m[routeKey{r.Method, r.Path}] = describeRoute(r.Method, r.Path)
	}
	return m
}

// routeOf describes the request as "METHOD /route/{param}" (the API's path template
// under BasePath), or "METHOD (no route)".
func routeOf(c *gin.Context) string {
	route := c.FullPath()
	if route == "" {
		route = "(no route)"
	}
	return describeRoute(c.Request.Method, route)
}

func describeRoute(method, route string) string {
	segs := strings.Split(strings.TrimPrefix(route, BasePath), "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, ":") || strings.HasPrefix(seg, "*") {
			segs[i] = "{" + seg[1:] + "}"
		}
	}
	return method + " " + strings.Join(segs, "/")
}
