package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/claimdrift/claimdrift/reconcile"
)

// Scopes a token may hold.
const (
	ScopeTrack = "track"
	ScopeClaim = "claim"
	ScopeRead  = "read"
	// ScopeAdmin grants every scope.
	ScopeAdmin = "admin"
)

// Scopes lists every scope, in the order they are documented.
var Scopes = []string{ScopeTrack, ScopeClaim, ScopeRead, ScopeAdmin}

// tokenPrefix starts every token, so that secret scanners can find them.
const tokenPrefix = "cdt_"

// ErrBadScope is returned by ParseScopes for an unknown scope.
var ErrBadScope = errors.New("unknown scope")

// ParseScopes splits a comma-separated scope list, checking each scope.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for _, sc := range strings.Split(s, ",") {
		sc = strings.TrimSpace(sc)
		if sc == "" {
			continue
		}
		if !slices.Contains(Scopes, sc) {
			return nil, fmt.Errorf("%q (want %s): %w", sc, strings.Join(Scopes, ", "), ErrBadScope)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scope given (want %s): %w", strings.Join(Scopes, ", "), ErrBadScope)
	}
	return out, nil
}

// NewToken returns a new random token (256 bits) and its hash. The token
// is shown once; only the hash is stored.
func NewToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generate token: %w", err)
	}
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is the stored form of a token: the hex SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// hasScope reports whether t grants scope.
func hasScope(t reconcile.APIToken, scope string) bool {
	return slices.Contains(t.Scopes, scope) || slices.Contains(t.Scopes, ScopeAdmin)
}

// tokenFrom finds the token of a request: the Authorization bearer, then,
// where allowed, the ?token= parameter and the page's cookie.
type tokenSource int

const (
	fromHeader tokenSource = 1 << iota
	fromQuery
	fromCookie
)

// cookieName is the status page's session cookie (HttpOnly).
const cookieName = "claimdrift_token"

func requestToken(r *http.Request, src tokenSource) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if v, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(v)
		}
		return ""
	}
	if src&fromQuery != 0 {
		if v := r.URL.Query().Get("token"); v != "" {
			return v
		}
	}
	if src&fromCookie != 0 {
		if c, err := r.Cookie(cookieName); err == nil {
			return c.Value
		}
	}
	return ""
}

// authError is why a request is refused.
type authError struct {
	status int
	msg    string
}

// authenticate checks token for scope: 401 when missing, unknown or
// revoked, 403 without the scope.
func (s *Server) authenticate(ctx context.Context, token, scope string) (reconcile.APIToken, *authError) {
	if token == "" {
		return reconcile.APIToken{}, &authError{http.StatusUnauthorized, "missing bearer token"}
	}
	hash := HashToken(token)
	t, err := s.store.TokenByHash(ctx, hash)
	return t, s.checkToken(ctx, t, err, hash, scope)
}

// checkToken is authenticate's verdict on the token its lookup by hash
// found (t, err).
func (s *Server) checkToken(ctx context.Context, t reconcile.APIToken, err error, hash, scope string) *authError {
	if errors.Is(err, reconcile.ErrNotFound) {
		return &authError{http.StatusUnauthorized, "unknown token"}
	}
	if err != nil {
		s.log.ErrorContext(ctx, "read token", "error", err.Error())
		return &authError{http.StatusServiceUnavailable, "cannot check the token: database unavailable"}
	}
	// The lookup is by hash; compare again in constant time so that
	// nothing depends on how the database compares strings.
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(hash)) != 1 {
		return &authError{http.StatusUnauthorized, "unknown token"}
	}
	if t.Revoked() {
		return &authError{http.StatusUnauthorized, "token revoked"}
	}
	if !hasScope(t, scope) {
		return &authError{http.StatusForbidden, fmt.Sprintf("token %q lacks the %s scope", t.Name, scope)}
	}
	return nil
}

// require wraps h: the request needs a token with scope, from src.
func (s *Server) require(scope string, src tokenSource, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, aerr := s.authenticate(r.Context(), requestToken(r, src), scope); aerr != nil {
			writeAuthError(w, aerr)
			return
		}
		h(w, r)
	}
}

// writeAuthError answers a refused request.
func writeAuthError(w http.ResponseWriter, aerr *authError) {
	if aerr.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="claimdrift"`)
	}
	writeError(w, aerr.status, aerr.msg)
}

// trackPrefetcher is a store that checks a token and reads what a track
// will read in one round trip (the PostgreSQL store); ok false: it cannot
// (nothing read).
type trackPrefetcher interface {
	PrefetchTrack(ctx context.Context, hash string, req reconcile.TrackRequest) (_ context.Context, _ reconcile.APIToken, ok bool, _ error)
}

// requireTrack is require(ScopeTrack, fromHeader, h) for the track route:
// on a store that can, the token's lookup also reads what the track will
// (trackPrefetcher), and h gets a request whose context carries that read.
func (s *Server) requireTrack(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tp, ok := s.store.(trackPrefetcher)
		token := requestToken(r, fromHeader)
		req, known := trackIdentity(r)
		if !ok || token == "" || !known {
			s.require(ScopeTrack, fromHeader, h)(w, r)
			return
		}
		hash := HashToken(token)
		ctx, t, ok, err := tp.PrefetchTrack(r.Context(), hash, req)
		if !ok {
			s.require(ScopeTrack, fromHeader, h)(w, r)
			return
		}
		if aerr := s.checkToken(r.Context(), t, err, hash, ScopeTrack); aerr != nil {
			writeAuthError(w, aerr)
			return
		}
		h(w, r.WithContext(ctx))
	}
}
