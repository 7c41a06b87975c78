package session

import (
	"html/template"
	"net/http"
	"sync"
	"time"
)

// pageTmpl is the one page the login shows itself: a notice or an error, with the
// landmarks every portal page has and one way on. No script, no inline style.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} – Enclave</title></head>
<body>
<header><p>Enclave</p></header>
<main>
<h1>{{.Title}}</h1>
<p id="message">{{.Message}}</p>
{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}
</main>
</body>
</html>
`))

// page answers with a small HTML page a person can act on.
func (m *Manager) page(w http.ResponseWriter, status int, title, msg, link, linkText string) {
	securityHeaders(w)
	noStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, map[string]string{"Title": title, "Message": msg, "Link": link, "LinkText": linkText})
}

// securityHeaders are the portal's: no framing, no inline script or style, no referrer
// (the callback's URL carries the code).
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

// limiter bounds the failed logins recorded per source address (perSource a minute),
// so a flood of forged callbacks cannot flood the audit trail; the page is answered
// either way.
type limiter struct {
	mu     sync.Mutex
	window time.Time
	counts map[string]int
}

const (
	failuresPerSource = 10
	maxSources        = 10000
)

func newLimiter() *limiter { return &limiter{counts: map[string]int{}} }

func (l *limiter) allow(src string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Minute || len(l.counts) >= maxSources {
		l.window, l.counts = now, map[string]int{}
	}
	l.counts[src]++
	return l.counts[src] <= failuresPerSource
}
