package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// statusByCode is the one table from wes.Error codes to HTTP statuses.
var statusByCode = map[string]int{
	wes.EINVALID:      http.StatusBadRequest,
	wes.EUNAUTHORIZED: http.StatusUnauthorized,
	wes.EFORBIDDEN:    http.StatusForbidden,
	wes.ENOTFOUND:     http.StatusNotFound,
	wes.ECONFLICT:     http.StatusConflict,
	wes.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	wes.EUNAVAILABLE:  http.StatusServiceUnavailable,
	wes.EINTERNAL:     http.StatusInternalServerError,
}

// statusOf returns the HTTP status for err's code; unknown codes are internal errors.
func statusOf(err error) int {
	if st, ok := statusByCode[wes.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// abortWithError answers with err as a WES ErrorResponse and stops the handler chain.
// Internal errors are logged with their cause, and the client gets only a generic text.
func (s *server) abortWithError(c *gin.Context, err error) {
	st := statusOf(err)
	msg := wes.ErrorMessage(err)
	switch code := wes.ErrorCode(err); {
	case st == http.StatusInternalServerError:
		msg = wes.ErrorMessage(wes.Internal(err, ""))
		s.log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	case code == wes.EUNAVAILABLE:
		c.Header("Retry-After", retryAfter(err))
		s.log.Warn("backend unavailable", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	case code == wes.EUNAUTHORIZED:
		c.Header("WWW-Authenticate", `Bearer realm="enclave"`)
	case code == wes.ECONFLICT:
		// A conflict that passes (a submission still in progress) says when to retry.
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) {
			c.Header("Retry-After", retryAfter(err))
		}
	}
	// A safety net: no message names where the zone keeps its data.
	writeErrorResponse(c, st, s.runs.HideZonePaths(msg))
}

// retryAfter is the Retry-After of a 503 in seconds: what the error says when it knows
// (an engine still being checked: its next check), else 5.
func retryAfter(err error) string {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && ra.RetryAfter() >= time.Second {
		return strconv.Itoa(int(ra.RetryAfter().Round(time.Second) / time.Second))
	}
	return "5"
}

func writeErrorResponse(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, api.ErrorResponse{Msg: msg, StatusCode: int32(status)})
}

// responseError handles a response that failed while being written. When nothing was
// sent yet the client still gets an ErrorResponse; otherwise the client has gone or the
// connection broke, which is not worth more than a debug line.
func (s *server) responseError(c *gin.Context, err error) {
	if c.Writer.Written() {
		s.log.Debug("writing a response failed", "path", c.Request.URL.Path, "err", err)
		return
	}
	s.abortWithError(c, wes.Internal(err, "the response could not be written"))
}

// renderErrors is a safety net: an error recorded on the context with c.Error and never
// answered still becomes an ErrorResponse.
func (s *server) renderErrors(c *gin.Context) {
	c.Next()
	if len(c.Errors) > 0 && !c.Writer.Written() {
		s.abortWithError(c, c.Errors.Last().Err)
	}
}

// recovery turns a panic into a logged internal error and a 500 ErrorResponse.
func (s *server) recovery() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, p any) {
		s.log.Error("panic in handler", "method", c.Request.Method, "path", c.Request.URL.Path,
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if c.Writer.Written() {
			c.Abort()
			return
		}
		writeErrorResponse(c, http.StatusInternalServerError, wes.ErrorMessage(wes.Internal(nil, "")))
	})
}

func (s *server) noRoute(c *gin.Context) {
	writeErrorResponse(c, http.StatusNotFound,
		fmt.Sprintf("no such endpoint: %s %s (the WES API is under %s)", c.Request.Method, truncate(c.Request.URL.Path, 200), BasePath))
}

func (s *server) noMethod(c *gin.Context) {
	writeErrorResponse(c, http.StatusMethodNotAllowed,
		fmt.Sprintf("method %s is not allowed on %s", c.Request.Method, truncate(c.Request.URL.Path, 200)))
}

// truncate cuts client-supplied text to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
