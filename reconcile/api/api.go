package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/claimdrift/claimdrift/reconcile"
)

// DefaultMaxPlanBytes is the default limit of a plan body: 1 GiB.
const DefaultMaxPlanBytes int64 = 1 << 30

// GCPercent is the garbage collector's target (GOGC) a process serving
// this API runs with when GOGC is not set in its environment. The
// service's live heap is a few megabytes while requests (plan bodies,
// their analysis, the answers) make tens of megabytes of garbage a second
// under load: at Go's default of 100 it collected about 50 times a second
// and gave 10 to 20% fewer tracks a second than at 400 (measured with
// cmd/serveload on 2 cores). The heap may grow to five times the live
// data instead of two; GOGC=100 restores the default.
const GCPercent = 400

// maxJSONBytes limits the small JSON bodies (claims, notifications).
const maxJSONBytes = 1 << 20

// Store is what the server reads besides the pool.
type Store interface {
	reconcile.Store
	reconcile.PresetLookup
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// TokenByHash returns the API token with that hash, or ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (reconcile.APIToken, error)
	// History returns tracked builds that replaced something, newest first.
	History(ctx context.Context, q reconcile.HistoryQuery) ([]reconcile.HistoryEntry, error)
	// PathCounts counts per template the claims each path replaced in.
	PathCounts(ctx context.Context, since time.Time) ([]reconcile.PathCount, error)
	// ObservedPresets names the presets only known from Coder.
	ObservedPresets(ctx context.Context) (map[uuid.UUID]bool, error)
}

// Options configure a Server.
type Options struct {
	// MaxPlanBytes limits plan bodies (default DefaultMaxPlanBytes); a
	// larger body is answered 413.
	MaxPlanBytes int64
	// MetricsTokenRequired puts /metrics, /healthz and /readyz behind a
	// read token.
	MetricsTokenRequired bool
	// Registerer receives the server's own metrics; Gatherer is what
	// /metrics serves. Default: NewRegistry for both.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Policy is the reconcile policy the pool metrics are computed with.
	Policy reconcile.Policy
	// Logger receives errors (default: discard). Tokens are never logged.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ReadyTimeout bounds the database check of /readyz (default 2s).
	ReadyTimeout time.Duration
	// Admission, when positive, is how many claims, tracks and Coder
	// notifications do their database work at once; the others wait in
	// arrival order. Set it to a PostgreSQL store's connection limit (0:
	// no limit, for SQLite, whose writes already queue in the process).
	Admission int
}

// Server serves the API and the status page.
type Server struct {
	store Store
	pool  *reconcile.Pool
	opts  Options
	log   *slog.Logger
	mux   *http.ServeMux

	coderNotifications *prometheus.CounterVec
	requests           *prometheus.CounterVec
	admit              *admission
}

// New returns a server over pool and store (the pool's store).
func New(store Store, pool *reconcile.Pool, opts Options) (*Server, error) {
	if opts.MaxPlanBytes <= 0 {
		opts.MaxPlanBytes = DefaultMaxPlanBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil || opts.Gatherer == nil {
		reg, err := NewRegistry(store, reconcile.CollectorOptions{Policy: opts.Policy, Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		opts.Registerer, opts.Gatherer = reg, reg
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 2 * time.Second
	}
	s := &Server{store: store, pool: pool, opts: opts, log: opts.Logger, mux: http.NewServeMux(), admit: newAdmission(opts.Admission)}
	s.coderNotifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "claimdrift_coder_notifications_total",
		Help: "Coder webhook notifications received by this process, by result (recorded, duplicate, ignored, malformed).",
	}, []string{"result"})
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "claimdrift_api_requests_total",
		Help: "HTTP requests served by this process, by route and status code.",
	}, []string{"route", "code"})
	for _, c := range []prometheus.Collector{s.coderNotifications, s.requests} {
		if err := opts.Registerer.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{"recorded", "duplicate", "ignored", "malformed"} {
		s.coderNotifications.WithLabelValues(r)
	}
	s.routes()
	return s, nil
}

// NewRegistry returns the registry /metrics serves: the pool's metrics,
// derived from store on every scrape, and the process and Go collectors.
func NewRegistry(store reconcile.Store, opts reconcile.CollectorOptions) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reconcile.NewCollector(store, opts).Register(reg); err != nil {
		return nil, err
	}
	return reg, nil
}

func (s *Server) routes() {
	open := func(h http.HandlerFunc) http.HandlerFunc {
		if s.opts.MetricsTokenRequired {
			return s.require(ScopeRead, fromHeader, h)
		}
		return h
	}
	m := s.mux
	m.HandleFunc("GET /healthz", open(s.healthz))
	m.HandleFunc("GET /readyz", open(s.readyz))
	m.Handle("GET /metrics", open(promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP))

	m.HandleFunc("POST /api/v1/workspaces/{workspace_id}/builds/{build_id}/plan", s.requireTrack(s.trackPlan))
	m.HandleFunc("POST /api/v1/analyze", s.require(ScopeRead, fromHeader, s.analyze))
	m.HandleFunc("POST /api/v1/presets/{preset}/claims", s.require(ScopeClaim, fromHeader, s.claim))
	m.HandleFunc("POST /api/v1/presets/{template}/{preset}/claims", s.require(ScopeClaim, fromHeader, s.claim))
	m.HandleFunc("GET /api/v1/presets", s.require(ScopeRead, fromHeader, s.presets))
	m.HandleFunc("GET /api/v1/replacements", s.require(ScopeRead, fromHeader, s.replacements))
	// Coder's webhook sends no custom header: the token may be ?token=
	// here, and only here.
	m.HandleFunc("POST /api/v1/coder/notifications", s.require(ScopeTrack, fromHeader|fromQuery, s.coderNotification))
	m.HandleFunc("/api/", s.apiNotFound)

	m.HandleFunc("GET /{$}", s.page)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assetsFS)))
}

// apiNotFound answers API paths no route takes, in JSON: 405 (with Allow)
// when the path exists for another method, else 404.
func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		if method == r.Method {
			continue
		}
		other := r.Clone(r.Context())
		other.Method = method
		if _, pattern := s.mux.Handler(other); pattern != "" && pattern != "/api/" {
			allow = append(allow, method)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, r.Method+" "+r.URL.Path+": use "+strings.Join(allow, " or "))
		return
	}
	writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
	if rec.status >= 500 {
		// The path only: a query may hold a token.
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", rec.status)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// errorBody is every error answer: {"error": "..."}.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// storeError answers an error from the pool or store.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, reconcile.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, reconcile.ErrAmbiguous):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "request canceled")
	default:
		s.log.ErrorContext(r.Context(), "request", "path", r.URL.Path, "error", err.Error())
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.ReadyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
