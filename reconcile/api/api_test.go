package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/api"
)

func TestHealthReadyMetrics(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) testStore) {
		w := newWorld(t, open, api.Options{})
		w.fill()
		for _, path := range []string{"/healthz", "/readyz"} {
			if a := w.do("GET", path, "", nil); a.status != 200 || !strings.Contains(string(a.body), `"ok"`) {
				t.Errorf("%s: %d %s", path, a.status, a.body)
			}
		}
		text := w.metrics()
		for _, want := range []string{
			`claimdrift_prebuilt_workspaces_desired{organization_name="acme",preset_name="small",template_name="docker-dev"} 2`,
			`claimdrift_prebuilt_workspaces_created_total{organization_name="acme",preset_name="small",template_name="docker-dev"} 2`,
			"process_resident_memory_bytes", "go_goroutines", "claimdrift_coder_notifications_total",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		// The same lint as promtool check metrics.
		problems, err := promlint.New(strings.NewReader(text)).Lint()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	})
}

func TestReadyzFailsWhenTheDatabaseIsGone(t *testing.T) {
	w := newWorld(t, stores[0].open, api.Options{})
	if err := w.store.Close(); err != nil {
		t.Fatal(err)
	}
	a := w.do("GET", "/readyz", "", nil)
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database closed: %d %s", a.status, a.body)
	}
	if a := w.do("GET", "/healthz", "", nil); a.status != 200 {
		t.Fatalf("/healthz answers for the process: %d", a.status)
	}
}

func TestMetricsTokenRequired(t *testing.T) {
	w := newWorld(t, stores[0].open, api.Options{MetricsTokenRequired: true})
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if a := w.do("GET", path, "", nil); a.status != 401 {
			t.Errorf("%s without a token: %d", path, a.status)
		}
		if a := w.do("GET", path, w.tokens["read"], nil); a.status != 200 {
			t.Errorf("%s with a read token: %d", path, a.status)
		}
	}
}

// TestAuthMatrix: every endpoint refuses no token, a wrong token and a
// revoked one with 401, a token without the scope with 403, and lets the
// right scope and admin through, on both stores (on PostgreSQL a track
// naming its preset by id checks its token in the track's first read).
func TestAuthMatrix(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { testAuthMatrix(t, st.open) })
	}
}

func testAuthMatrix(t *testing.T, open func(t *testing.T) testStore) {
	w := newWorld(t, open, api.Options{})
	w.fill()
	plan := planFile(t, "providers/docker.json")
	endpoints := []struct {
		method, path, scope string
		body                func() string
	}{
		{"POST", "/api/v1/workspaces/{ws}/builds/{b}/plan?preset=docker-dev/small&user=alice", "track", func() string { return plan }},
		{"POST", "/api/v1/workspaces/{ws}/builds/{b}/plan?preset={preset}&user=alice", "track", func() string { return plan }},
		{"POST", "/api/v1/analyze", "read", func() string { return plan }},
		{"POST", "/api/v1/presets/docker-dev/small/claims", "claim", func() string { return `{"user":"alice"}` }},
		{"GET", "/api/v1/presets", "read", nil},
		{"GET", "/api/v1/replacements", "read", nil},
		{"POST", "/api/v1/coder/notifications", "track", func() string {
			return coderMessage(uuid.NewString(), "ws-auth", 1, map[string]string{"docker_container.main": "env"})
		}},
	}
	for _, ep := range endpoints {
		for _, who := range []string{"none", "wrong", "revoked", "track", "claim", "read", "admin"} {
			t.Run(ep.method+" "+ep.path+" "+who, func(t *testing.T) {
				token := w.tokens[who]
				switch who {
				case "none":
					token = ""
				case "wrong":
					token = "cdt_" + strings.Repeat("A", 43)
				}
				path := strings.NewReplacer("{ws}", uuid.NewString(), "{b}", uuid.NewString(), "{preset}", w.small.ID.String()).Replace(ep.path)
				var body *strings.Reader
				if ep.body != nil {
					body = strings.NewReader(ep.body())
				} else {
					body = strings.NewReader("")
				}
				a := w.do(ep.method, path, token, body)
				want := 0
				switch {
				case who == "none" || who == "wrong" || who == "revoked":
					want = 401
				case who != ep.scope && who != "admin":
					want = 403
				}
				if want != 0 {
					if a.status != want {
						t.Fatalf("status %d, want %d: %s", a.status, want, a.body)
					}
					msg := a.errorText(t)
					if token != "" && strings.Contains(msg, token) {
						t.Fatalf("the error repeats the token: %s", msg)
					}
					return
				}
				if a.status >= 400 {
					t.Fatalf("allowed scope refused: %d %s", a.status, a.body)
				}
			})
		}
	}
}

func TestTrackPlan(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) testStore) {
		w := newWorld(t, open, api.Options{Admission: 1}) // one turn at a time: a request that kept its turn would hang the next
		ws, build := uuid.New(), uuid.New()
		path := fmt.Sprintf("/api/v1/workspaces/%s/builds/%s/plan?preset=%s&user=alice", ws, build, w.small.ID)
		plan := planFile(t, "providers/docker.json")
		first := w.do("POST", path, w.tokens["track"], strings.NewReader(plan))
		if first.status != 200 {
			t.Fatalf("track: %d %s", first.status, first.body)
		}
		var ans api.TrackAnswer
		first.json(t, &ans)
		if ans.Recorded != 3 || len(ans.Replacements) != 3 || ans.Preset != "small" || ans.Template != "docker-dev" {
			t.Fatalf("answer: %+v", ans)
		}
		var paths []string
		for _, r := range ans.Replacements {
			if r.Resource == "docker_container.workspace[0]" {
				paths = r.Paths
			}
		}
		if want := []string{"command", "env", "hostname", "labels", "name", "volumes"}; !reflect.DeepEqual(paths, want) {
			t.Fatalf("paths of the container: %v, want %v", paths, want)
		}
		if first.header.Get("X-Claimdrift-Already-Tracked") != "" {
			t.Fatal("first track says already tracked")
		}
		// The same build again: same answer, nothing recorded twice.
		second := w.do("POST", path, w.tokens["track"], strings.NewReader(plan))
		if second.status != 200 || string(second.body) != string(first.body) || second.header.Get("X-Claimdrift-Already-Tracked") != "true" {
			t.Fatalf("second track: %d %s (first %s)", second.status, second.body, first.body)
		}
		// A plan -json stream works too.
		a := w.do("POST", fmt.Sprintf("/api/v1/workspaces/%s/builds/%s/plan?preset=docker-dev/small&user=bob", uuid.New(), uuid.New()), w.tokens["track"],
			strings.NewReader(planFile(t, "providers/docker.stream.jsonl")))
		if a.status != 200 {
			t.Fatalf("stream: %d %s", a.status, a.body)
		}
		text := w.metrics()
		if l := metricLine(text, "claimdrift_prebuilt_workspaces_resource_replacements_total", `preset_name="small"`); !strings.HasSuffix(l, " 2") {
			t.Fatalf("replacements metric: %q", l)
		}
		var hist api.HistoryAnswer
		w.do("GET", "/api/v1/replacements", w.tokens["read"], nil).json(t, &hist)
		if len(hist.History) != 2 || hist.History[1].BuildID != build || hist.History[1].Claimant != "alice" || hist.History[1].Source != "claimdrift" {
			t.Fatalf("history: %+v", hist.History)
		}
		// Unknown workspace without a preset: 404.
		if a := w.do("POST", fmt.Sprintf("/api/v1/workspaces/%s/builds/%s/plan", uuid.New(), uuid.New()), w.tokens["track"], strings.NewReader(plan)); a.status != 404 {
			t.Fatalf("unknown workspace: %d %s", a.status, a.body)
		}
	})
}

func TestBadBodies(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) testStore) {
		w := newWorld(t, open, api.Options{MaxPlanBytes: 4096, Admission: 1})
		track := fmt.Sprintf("/api/v1/workspaces/%s/builds/%s/plan?preset=%s", uuid.New(), uuid.New(), w.small.ID)
		cases := []struct {
			name, method, path, body string
			want                     int
		}{
			{"oversized plan", "POST", track, planFile(t, "providers/docker.json"), 413},
			{"oversized analyze", "POST", "/api/v1/analyze", planFile(t, "providers/docker.json"), 413},
			{"not JSON", "POST", track, "hello", 400},
			{"truncated plan", "POST", track, `{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":["delete","create"]`, 400},
			{"empty plan", "POST", "/api/v1/analyze", "", 400},
			{"state, not a plan", "POST", "/api/v1/analyze", `{"format_version":"1.0","values":{"root_module":{}}}`, 400},
			{"binary plan", "POST", "/api/v1/analyze", "PK\x03\x04rest", 400},
			{"bad workspace id", "POST", "/api/v1/workspaces/nope/builds/" + uuid.NewString() + "/plan", "{}", 400},
			{"track unknown preset id", "POST", fmt.Sprintf("/api/v1/workspaces/%s/builds/%s/plan?preset=%s", uuid.New(), uuid.New(), uuid.New()), planFile(t, "tainted.json"), 404},
			{"track unknown preset name", "POST", fmt.Sprintf("/api/v1/workspaces/%s/builds/%s/plan?preset=docker-dev/huge", uuid.New(), uuid.New()), "{}", 404},
			{"claim malformed", "POST", "/api/v1/presets/docker-dev/small/claims", `{"user":`, 400},
			{"claim two values", "POST", "/api/v1/presets/docker-dev/small/claims", `{"user":"a"} {}`, 400},
			{"claim no user", "POST", "/api/v1/presets/docker-dev/small/claims", `{"name":"x"}`, 400},
			{"claim huge", "POST", "/api/v1/presets/docker-dev/small/claims", `{"user":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
			{"claim bad preset key", "POST", "/api/v1/presets/small/claims", `{"user":"a"}`, 400},
			{"claim unknown preset", "POST", "/api/v1/presets/docker-dev/huge/claims", `{"user":"a"}`, 404},
			{"claim unknown id", "POST", "/api/v1/presets/" + uuid.NewString() + "/claims", `{"user":"a"}`, 404},
			{"history bad limit", "GET", "/api/v1/replacements?limit=0", "", 400},
			{"history bad since", "GET", "/api/v1/replacements?since=yesterday", "", 400},
			{"no such endpoint", "GET", "/api/v1/nope", "", 404},
			{"wrong method", "POST", "/api/v1/presets", "", 405},
			{"wrong method, wildcard route", "GET", "/api/v1/presets/docker-dev/small/claims", "", 405},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a := w.do(c.method, c.path, w.tokens["admin"], strings.NewReader(c.body))
				if a.status != c.want {
					t.Fatalf("status %d, want %d: %.300s", a.status, c.want, a.body)
				}
				a.errorText(t)
			})
		}
		var hist api.HistoryAnswer
		w.do("GET", "/api/v1/replacements", w.tokens["read"], nil).json(t, &hist)
		if len(hist.History) != 0 {
			t.Fatalf("bad bodies recorded something: %+v", hist.History)
		}
	})
}

func TestClaim(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) testStore) {
		w := newWorld(t, open, api.Options{Admission: 1}) // one turn at a time: a request that kept its turn would hang the next
		a := w.do("POST", "/api/v1/presets/docker-dev/small/claims", w.tokens["claim"], strings.NewReader(`{"user":"alice"}`))
		if a.status != 409 {
			t.Fatalf("claim of an empty pool: %d %s", a.status, a.body)
		}
		if msg := a.errorText(t); !strings.Contains(msg, "no ready prebuild") {
			t.Fatalf("409 says %q", msg)
		}
		w.fill()
		seen := map[uuid.UUID]bool{}
		for i, key := range []string{"docker-dev/small", w.small.ID.String(), "docker-dev%2Fsmall"} {
			a := w.do("POST", "/api/v1/presets/"+key+"/claims", w.tokens["claim"], strings.NewReader(fmt.Sprintf(`{"user":"u%d","name":"ws-%d"}`, i, i)))
			if i == 2 {
				// Two prebuilds, three claims.
				if a.status != 409 {
					t.Fatalf("third claim: %d %s", a.status, a.body)
				}
				continue
			}
			if a.status != 201 {
				t.Fatalf("claim %s: %d %s", key, a.status, a.body)
			}
			var ans api.ClaimAnswer
			a.json(t, &ans)
			if ans.WorkspaceID == uuid.Nil || seen[ans.WorkspaceID] || ans.Owner != fmt.Sprintf("u%d", i) || ans.WorkspaceName != fmt.Sprintf("ws-%d", i) ||
				ans.BuildStatus != reconcile.BuildSucceeded || ans.Preset != "small" || ans.Template != "docker-dev" || ans.PresetID != w.small.ID {
				t.Fatalf("claim answer: %+v", ans)
			}
			seen[ans.WorkspaceID] = true
		}
		// An empty pool named by id: the 409 still names the preset.
		a = w.do("POST", "/api/v1/presets/"+w.small.ID.String()+"/claims", w.tokens["claim"], strings.NewReader(`{"user":"late"}`))
		if msg := a.errorText(t); a.status != 409 || !strings.Contains(msg, "preset small of template docker-dev has no ready prebuild") {
			t.Fatalf("claim of an empty pool by id: %d %q", a.status, msg)
		}
		var states []reconcile.PresetState
		w.do("GET", "/api/v1/presets", w.tokens["read"], nil).json(t, &states)
		want, err := w.pool.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(want)
		gotJSON, _ := json.Marshal(states)
		if string(wantJSON) != string(gotJSON) {
			t.Fatalf("GET /api/v1/presets:\n%s\nwant (status --format json):\n%s", gotJSON, wantJSON)
		}
		for _, s := range states {
			if s.Preset == "small" && (s.Claims != 2 || s.Eligible != 0) {
				t.Fatalf("small after two claims: %+v", s)
			}
		}
	})
}

func TestAnalyze(t *testing.T) {
	w := newWorld(t, stores[0].open, api.Options{})
	a := w.do("POST", "/api/v1/analyze?ignore=coder_*", w.tokens["read"], strings.NewReader(planFile(t, "providers/docker.json")))
	if a.status != 200 {
		t.Fatalf("analyze: %d %s", a.status, a.body)
	}
	var rep analyzer.Report
	a.json(t, &rep)
	if rep.Schema != analyzer.Schema || len(rep.Replacements) != 2 || rep.Ignored != 1 {
		t.Fatalf("report: schema %q, %d replacements, %d ignored", rep.Schema, len(rep.Replacements), rep.Ignored)
	}
	if strings.Contains(string(a.body), "claimdrift fake agent token") {
		t.Fatal("a sensitive value in the report")
	}
}

func TestReplacementsFilters(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) testStore) {
		w := newWorld(t, open, api.Options{})
		plan := planFile(t, "providers/docker.json")
		for i, preset := range []string{"small", "large", "small"} {
			a := w.do("POST", fmt.Sprintf("/api/v1/workspaces/%s/builds/%s/plan?preset=docker-dev/%s&user=u%d", uuid.New(), uuid.New(), preset, i), w.tokens["track"], strings.NewReader(plan))
			if a.status != 200 {
				t.Fatal(a.status, string(a.body))
			}
			time.Sleep(2 * time.Millisecond)
		}
		get := func(q string) []reconcile.HistoryEntry {
			var h api.HistoryAnswer
			a := w.do("GET", "/api/v1/replacements"+q, w.tokens["read"], nil)
			if a.status != 200 {
				t.Fatalf("%s: %d %s", q, a.status, a.body)
			}
			a.json(t, &h)
			return h.History
		}
		all := get("")
		if len(all) != 3 || all[0].Claimant != "u2" || all[2].Claimant != "u0" {
			t.Fatalf("newest first: %+v", all)
		}
		if h := get("?preset=large"); len(h) != 1 || h[0].Claimant != "u1" {
			t.Fatalf("preset filter: %+v", h)
		}
		if h := get("?template=docker-dev&preset=small&limit=1"); len(h) != 1 || h[0].Claimant != "u2" {
			t.Fatalf("limit: %+v", h)
		}
		if h := get("?template=other"); len(h) != 0 {
			t.Fatalf("template filter: %+v", h)
		}
		if h := get("?since=" + all[0].TrackedAt.Format(time.RFC3339Nano)); len(h) != 1 {
			t.Fatalf("since: %+v", h)
		}
		if h := get("?since=1h"); len(h) != 3 {
			t.Fatalf("since 1h: %+v", h)
		}
		if r := all[0].Replacements; len(r) != 3 || len(r[0].Changes) == 0 {
			t.Fatalf("history replacements carry paths and causes: %+v", r)
		}
	})
}
