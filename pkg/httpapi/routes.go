package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/pkg/wes"
)

// maxJSONBody bounds the JSON bodies of the extension endpoints (a review decision).
const maxJSONBody = 64 << 10

// checkJSONBody guards the JSON request bodies: Content-Type application/json and at
// most maxJSONBody bytes. POST /runs has its own guard (checkSubmitBody).
func (s *server) checkJSONBody(c *gin.Context) {
	if c.Request.Method != http.MethodPost || c.FullPath() == BasePath+"/runs" || c.Request.Body == nil || c.Request.ContentLength == 0 {
		c.Next()
		return
	}
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/json" {
		if c.FullPath() != BasePath+"/runs/:run_id/cancel" { // cancel takes no body; ignore what is sent
			s.abortWithError(c, wes.Errorf(wes.EINVALID, "the request body must be JSON (Content-Type: application/json); got Content-Type %q",
				truncate(c.GetHeader("Content-Type"), 100)))
			return
		}
	}
	if c.Request.ContentLength > maxJSONBody {
		s.abortWithError(c, tooLargeBody(maxJSONBody))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody)
	c.Next()
}

// jsonBodyError describes a JSON body the strict handler could not decode.
func jsonBodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLargeBody(mbe.Limit)
	}
	return wes.Errorf(wes.EINVALID, "the request body is not a valid JSON object for this operation: %s", truncate(firstLine(err.Error()), 200))
}

// slashedOutput matches a download route whose output path was sent with plain slashes.
var slashedOutput = regexp.MustCompile(`^` + regexp.QuoteMeta(BasePath) + `/runs/([^/]+)/outputs/(.+/.+)$`)

// outputPathFallback lets clients download an output at .../outputs/results/summary.csv
// as well as at .../outputs/results%2Fsummary.csv (the form the API hands out): it
// re-routes the first form as the second. A request that already has an escaped path
// (RawPath set, as after the rewrite) is left alone, so this never loops.
func (s *server) outputPathFallback(c *gin.Context) {
	if c.Request.Method != http.MethodGet || c.Request.URL.RawPath != "" {
		return
	}
	m := slashedOutput.FindStringSubmatch(c.Request.URL.Path)
	if m == nil || strings.HasSuffix(m[2], "/") {
		return
	}
	c.Request.URL.RawPath = BasePath + "/runs/" + url.PathEscape(m[1]) + "/outputs/" + url.PathEscape(m[2])
	s.gin.HandleContext(c)
	c.Abort() // the re-routed chain has answered; nothing of this one may run
}
