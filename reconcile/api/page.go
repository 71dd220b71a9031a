package api

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed assets
var assetsRoot embed.FS

var assetsFS, _ = fs.Sub(assetsRoot, "assets")

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}).ParseFS(templatesFS, "templates/*.html"))

// chartTop is how many paths a template's chart shows.
const chartTop = 12

// Chart geometry (SVG user units).
const (
	chartLabelWidth = 440
	chartBarMax     = 360
	chartRow        = 24
	chartBarHeight  = 16
)

type pageData struct {
	Pools   []poolRow
	Recent  []reconcile.HistoryEntry
	Charts  []chart
	Now     time.Time
	Message string
}

type poolRow struct {
	reconcile.PresetState
	Observed bool
}

type chart struct {
	Organization, Template string
	Width, Height          int
	LabelX, BarX           int
	Bars                   []bar
}

type bar struct {
	Path    string
	AsGiven bool
	Claims  int
	Y       int
	TextY   int
	Width   int
	CountX  int
}

// buildCharts groups path counts (sorted by template, most first) into
// one chart per template, one bar per path.
func buildCharts(counts []reconcile.PathCount) []chart {
	var out []chart
	for _, c := range counts {
		if len(out) == 0 || out[len(out)-1].Organization != c.Organization || out[len(out)-1].Template != c.Template {
			out = append(out, chart{Organization: c.Organization, Template: c.Template, Width: chartLabelWidth + chartBarMax + 60,
				LabelX: chartLabelWidth - 6, BarX: chartLabelWidth})
		}
		ch := &out[len(out)-1]
		if len(ch.Bars) >= chartTop {
			continue
		}
		ch.Bars = append(ch.Bars, bar{Path: c.Path, AsGiven: c.PathsAsGiven, Claims: c.Claims})
	}
	for i := range out {
		ch := &out[i]
		maxClaims := 1
		for _, b := range ch.Bars {
			maxClaims = max(maxClaims, b.Claims)
		}
		for j := range ch.Bars {
			b := &ch.Bars[j]
			b.Y = j*chartRow + 4
			b.TextY = b.Y + chartBarHeight - 3
			b.Width = max(2, b.Claims*chartBarMax/maxClaims)
			b.CountX = chartLabelWidth + b.Width + 6
		}
		ch.Height = len(ch.Bars)*chartRow + 8
	}
	return out
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	token := requestToken(r, fromHeader|fromQuery|fromCookie)
	if token == "" {
		// Not signed in yet: the sign-in form is the page.
		s.loginPage(w, http.StatusOK, "")
		return
	}
	if _, aerr := s.authenticate(r.Context(), token, ScopeRead); aerr != nil {
		s.loginPage(w, aerr.status, aerr.msg)
		return
	}
	ctx := r.Context()
	data := pageData{Now: s.opts.Now()}
	states, err := s.pool.Status(ctx)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	observed, err := s.store.ObservedPresets(ctx)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, st := range states {
		data.Pools = append(data.Pools, poolRow{PresetState: st, Observed: observed[st.PresetID]})
	}
	if data.Recent, err = s.store.History(ctx, reconcile.HistoryQuery{Limit: 20}); err != nil {
		s.pageError(w, r, err)
		return
	}
	counts, err := s.store.PathCounts(ctx, time.Time{})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	data.Charts = buildCharts(counts)
	s.render(w, http.StatusOK, "page.html", data)
}

func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "status page", "error", err.Error())
	http.Error(w, "the status page cannot read the database: "+err.Error(), http.StatusInternalServerError)
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pageTemplates.ExecuteTemplate(w, name, data); err != nil {
		s.log.Error("render page", "template", name, "error", err.Error())
	}
}

func (s *Server) loginPage(w http.ResponseWriter, status int, msg string) {
	s.render(w, status, "login.html", pageData{Message: msg})
}

// login checks the token of the form and keeps it in an HttpOnly cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		s.loginPage(w, http.StatusBadRequest, "malformed form")
		return
	}
	token := r.PostForm.Get("token")
	if _, aerr := s.authenticate(r.Context(), token, ScopeRead); aerr != nil {
		s.loginPage(w, aerr.status, aerr.msg)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int((12 * time.Hour).Seconds())})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
