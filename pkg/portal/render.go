package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one template set per page, each with the layout.
type pages struct{ byName map[string]*template.Template }

// view is what the layout needs besides the page's own data.
type view struct {
	Title   string
	Active  string // the nav entry of this page: catalog, runs, review, audit
	U       *user
	Prefix  string
	AuthOff bool
	Logout  bool // a login is configured: show the "Log out" button
	CSRF    string
	Asset   string // the static assets' version, for cache busting
	Data    any
}

var funcs = template.FuncMap{
	"time":     fmtTime,
	"size":     fmtSize,
	"terminal": func(s wes.State) bool { return s.Terminal() },
	"lower":    func(s wes.State) string { return strings.ToLower(string(s)) },
	"outURL":   outputURL,
	"join":     strings.Join,
	"inc":      func(i int) int { return i + 1 },
}

func loadPages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pg := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimPrefix(n, "templates/")
		if name == "layout.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		pg.byName[strings.TrimSuffix(name, ".html")] = t
	}
	return pg, nil
}

// render writes page name with status. The page is executed into a buffer first, so a
// template error becomes an error page rather than half a page.
func (p *portal) render(w http.ResponseWriter, r *http.Request, u *user, status int, name, title, active string, data any) {
	t, ok := p.pages.byName[name]
	if !ok {
		p.fail(w, r, u, wes.Internal(fmt.Errorf("no template %q", name), "page missing"))
		return
	}
	v := view{Title: title, Active: active, U: u, Prefix: p.cfg.Prefix, AuthOff: !p.sess.LoginRequired(),
		Logout: p.sess.Handler() != nil && u.P != nil, Asset: assetVersion, Data: data}
	if u.P != nil {
		v.CSRF = p.sess.CSRFToken(w, r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		p.log.Error("page template failed", "page", name, "err", err)
		if name != "error" {
			p.fail(w, r, u, wes.Internal(err, "page failed"))
		} else {
			http.Error(w, "The page could not be shown. Try again in a minute.", http.StatusInternalServerError)
		}
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtSize(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KiB"
	case n < 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
}

// outputURL is the portal's download route of an output: each segment of its path
// escaped, so any name the workflow gave it stays one path.
func outputURL(prefix, runID, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return prefix + "runs/" + runID + "/outputs/" + strings.Join(segs, "/")
}
