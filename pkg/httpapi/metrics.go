package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/wes"
)

// operationIDs maps each API route (method and gin pattern) to its OpenAPI operationId,
// the label of its request metrics: a fixed set, whatever paths clients send.
func operationIDs() (map[routeKey]string, error) {
	doc, err := api.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("httpapi: load embedded OpenAPI document: %w", err)
	}
	m := map[routeKey]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID != "" {
				m[routeKey{method, BasePath + ginPattern(path)}] = op.OperationID
			}
		}
	}
	return m, nil
}

// observe records the request's operation, status and duration. It runs first in the
// chains of matched API routes and of unmatched requests (after the output-path
// fallback, whose re-routed chain records the download itself), so each request is
// counted once. The status is the one renderErrors will write when a handler left only
// an error behind.
func (s *server) observe(c *gin.Context) {
	if s.deps.Metrics == nil {
		c.Next()
		return
	}
	start := time.Now()
	defer func() {
		st := c.Writer.Status()
		if p := recover(); p != nil {
			s.deps.Metrics.HTTP(s.operation(c), http.StatusInternalServerError, time.Since(start))
			panic(p) // recovery answers it
		}
		if len(c.Errors) > 0 && !c.Writer.Written() {
			st = statusOf(c.Errors.Last().Err)
		}
		s.deps.Metrics.HTTP(s.operation(c), st, time.Since(start))
	}()
	c.Next()
}

func (s *server) operation(c *gin.Context) string {
	if op, ok := s.operations[routeKey{c.Request.Method, c.FullPath()}]; ok {
		return op
	}
	return metrics.OpOther
}

// authFailure records why authentication refused a request.
func (s *server) authFailure(c *gin.Context, err error) {
	if s.deps.Metrics == nil {
		return
	}
	reason := metrics.AuthInvalid
	switch {
	case wes.IsCode(err, wes.EFORBIDDEN):
		reason = metrics.AuthForbidden
	case wes.IsCode(err, wes.EUNAVAILABLE):
		reason = metrics.AuthUnavailable
	case !wes.IsCode(err, wes.EUNAUTHORIZED):
		return // an internal error is not a refusal
	case c.GetHeader("Authorization") == "":
		reason = metrics.AuthMissing
	case strings.Contains(wes.ErrorMessage(err), "expired"):
		reason = metrics.AuthExpired
	}
	s.deps.Metrics.AuthFailure(reason)
}
