package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/api"
	"github.com/claimdrift/claimdrift/reconcile/postgres"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
	"github.com/claimdrift/claimdrift/reconcile/sqlite"
)

// testStore is a real store with everything the tests touch.
type testStore interface {
	api.Store
	CreateToken(ctx context.Context, t reconcile.APIToken) error
	RevokeToken(ctx context.Context, idOrName string, now time.Time) (reconcile.APIToken, error)
	OutboxList(ctx context.Context, status string) ([]notify.OutboxEntry, error)
}

// stores opens a fresh database of each kind.
var stores = []struct {
	name string
	open func(t *testing.T) testStore
}{
	{"sqlite", func(t *testing.T) testStore {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "claimdrift.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) testStore {
		s, err := postgres.Open(context.Background(), pgtest.Schema(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

// forEachStore runs fn once per store kind.
func forEachStore(t *testing.T, fn func(t *testing.T, open func(t *testing.T) testStore)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { fn(t, st.open) })
	}
}

// world is a real server on a random loopback port over a real store,
// seeded with one template and two presets.
type world struct {
	t      *testing.T
	store  testStore
	pool   *reconcile.Pool
	server *api.Server
	http   *httptest.Server
	// tokens by scope name, plus "revoked" and "admin".
	tokens map[string]string
	small  reconcile.Preset
	large  reconcile.Preset
}

func newWorld(t *testing.T, open func(t *testing.T) testStore, opts api.Options) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, store: open(t), tokens: map[string]string{}}
	// The build commands are real shell commands that succeed.
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{CreateCmd: "true", DeleteCmd: "true"})
	w.pool = reconcile.NewPool(w.store, x, reconcile.Options{})
	res, err := w.store.ImportTemplate(ctx, reconcile.TemplateImport{Name: "docker-dev", Organization: "acme", Now: time.Now(),
		Presets: []reconcile.PresetSpec{{Name: "small", DesiredInstances: 2}, {Name: "large", DesiredInstances: 0}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Presets {
		switch p.Name {
		case "small":
			w.small = p
		case "large":
			w.large = p
		}
	}
	for _, sc := range []string{"track", "claim", "read", "admin", "revoked"} {
		token, hash, err := api.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		scopes := []string{sc}
		if sc == "revoked" {
			scopes = []string{"admin"}
		}
		if err := w.store.CreateToken(ctx, reconcile.APIToken{ID: uuid.New(), Name: sc, Scopes: scopes, Hash: hash, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		w.tokens[sc] = token
	}
	if _, err := w.store.RevokeToken(ctx, "revoked", time.Now()); err != nil {
		t.Fatal(err)
	}
	w.server, err = api.New(w.store, w.pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.http = httptest.NewServer(w.server)
	t.Cleanup(w.http.Close)
	return w
}

// fill runs a reconcile pass so the small preset has ready prebuilds.
func (w *world) fill() {
	w.t.Helper()
	rep, err := w.pool.ReconcileOnce(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	for _, b := range rep.Builds {
		if b.Status != reconcile.BuildSucceeded {
			w.t.Fatalf("prebuild build %s: %s %s", b.BuildID, b.Status, b.Error)
		}
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", a.status, err, a.body)
	}
}

// errorText returns the "error" of a JSON error answer (and fails the
// test when the answer is not one).
func (a answer) errorText(t *testing.T) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	a.json(t, &e)
	if e.Error == "" {
		t.Fatalf("answer %d has no error: %s", a.status, a.body)
	}
	return e.Error
}

func (w *world) do(method, path, token string, body io.Reader) answer {
	w.t.Helper()
	req, err := http.NewRequest(method, w.http.URL+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := w.http.Client().Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func planFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "plans", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (w *world) metrics() string {
	w.t.Helper()
	a := w.do("GET", "/metrics", "", nil)
	if a.status != 200 {
		w.t.Fatalf("/metrics: %d %s", a.status, a.body)
	}
	return string(a.body)
}

// metricLine finds the sample line of name with all the given labels.
func metricLine(text, name string, labels ...string) string {
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for _, lb := range labels {
			ok = ok && strings.Contains(l, lb)
		}
		if ok {
			return l
		}
	}
	return ""
}
