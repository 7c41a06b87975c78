package portal

import (
	"errors"
	"net/http"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

var (
	errNoPage = wes.Errorf(wes.ENOTFOUND, "there is no page at this address")
	errCSRF   = errors.New("csrf")
)

// errorPage is what the error page shows: what happened and what the person can do.
type errorPage struct {
	Status  int
	Message string
	Advice  string
}

// statusOf maps the run service's codes to HTTP statuses, as the API does.
var statusOf = map[string]int{
	wes.EINVALID:      http.StatusBadRequest,
	wes.EUNAUTHORIZED: http.StatusUnauthorized,
	wes.EFORBIDDEN:    http.StatusForbidden,
	wes.ENOTFOUND:     http.StatusNotFound,
	wes.ECONFLICT:     http.StatusConflict,
	wes.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	wes.EUNAVAILABLE:  http.StatusServiceUnavailable,
	wes.EINTERNAL:     http.StatusInternalServerError,
}

// fail answers with an error page. A run that is unknown and one that is someone else's
// get the same page (the service already says the same of both; the page does not even
// quote it). Internal errors are logged and shown without their cause; no message shows
// a zone path.
func (p *portal) fail(w http.ResponseWriter, r *http.Request, u *user, err error) {
	if errors.Is(err, errCSRF) {
		p.render(w, r, u, http.StatusForbidden, "error", "Form expired", "", errorPage{Status: http.StatusForbidden,
			Message: "This form could not be accepted: it has expired or did not come from this site.",
			Advice:  "Go back, reload the page and submit the form again. Nothing was changed."})
		return
	}
	code := wes.ErrorCode(err)
	st, ok := statusOf[code]
	if !ok {
		st = http.StatusInternalServerError
	}
	e := errorPage{Status: st, Message: p.runs.HideZonePaths(wes.ErrorMessage(err))}
	title := http.StatusText(st)
	switch {
	case code == wes.ENOTFOUND:
		title = "Not found"
		if err != errNoPage {
			e.Message = "There is nothing here that you can see: it does not exist, or it is not yours."
		}
		e.Advice = "Check the address, or find what you were looking for in your runs or the catalogue."
	case code == wes.EUNAUTHORIZED:
		title = "Not logged in"
		e.Advice = "Log in and try again."
	case code == wes.EFORBIDDEN:
		title = "Not allowed"
		e.Advice = "If you think you should be allowed, ask the service's operators."
	case code == wes.EUNAVAILABLE:
		w.Header().Set("Retry-After", "5")
		p.log.Warn("backend unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		title = "Temporarily unavailable"
		e.Advice = "Part of the service cannot be reached right now. Wait a minute and try again; nothing was changed."
	case st >= 500:
		p.log.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		title = "Something went wrong"
		e.Message = "The page could not be shown because of an error on the server."
		e.Advice = "Try again in a minute. If it keeps happening, tell the service's operators the time it happened: " +
			time.Now().UTC().Format(time.RFC3339) + "."
	default:
		e.Advice = "Go back, correct what the message says and try again."
	}
	p.render(w, r, u, st, "error", title, "", e)
}
