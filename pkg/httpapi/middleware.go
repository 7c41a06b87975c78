package httpapi

import (
	"context"
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

// requestContext authenticates the caller and puts the principal and the API's external
// base URL into the request context, before any handler or parameter check runs.
func (s *server) requestContext(c *gin.Context) {
	ctx := context.WithValue(c.Request.Context(), baseURLKey{}, s.baseURL(c.Request))
	// The route, for the audit events of refusals: its template, never the ids in it.
	ctx = runs.WithRequest(ctx, routeOf(c))
	c.Request = c.Request.WithContext(ctx)
	p, err := s.principal(c)
	if err != nil {
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

// principal returns the caller, or nil for an anonymous call to a public path.
func (s *server) principal(c *gin.Context) (*wes.Principal, error) {
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
		// Refused tokens and users without access are audited; a provider that cannot
		// be reached is not a refusal.
		if code := wes.ErrorCode(err); code == wes.EUNAUTHORIZED || code == wes.EFORBIDDEN {
			// Rate-limited per source address: the TCP peer, which a client cannot
			// choose as it can X-Forwarded-For.
			s.runs.RefuseToken(c.Request.Context(), c.GetHeader("Authorization"), c.RemoteIP(), statusOf(err), err)
		}
		return nil, err
	}
	return p, nil
}

// baseURL is the absolute URL of the API root as the client sees it.
func (s *server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL + BasePath
	}
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

// baseURLFrom returns the base URL requestContext stored in ctx.
func baseURLFrom(ctx context.Context) string {
	u, _ := ctx.Value(baseURLKey{}).(string)
	return u
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
// is one, so run ids and tokens stay out of the log.
func (s *server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "(no route)"
	}
	s.log.Debug("request", "method", c.Request.Method, "route", route,
		"status", c.Writer.Status(), "duration", time.Since(start))
}

// routeOf describes the request as "METHOD /route/{param}" (the API's path template
// under BasePath), or "METHOD (no route)".
func routeOf(c *gin.Context) string {
	route := c.FullPath()
	if route == "" {
		route = "(no route)"
	}
	segs := strings.Split(strings.TrimPrefix(route, BasePath), "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, ":") || strings.HasPrefix(seg, "*") {
			segs[i] = "{" + seg[1:] + "}"
		}
	}
	return c.Request.Method + " " + strings.Join(segs, "/")
}
