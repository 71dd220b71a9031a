package api_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/api"
)

// coderMessage writes a "Prebuilt Workspace Resource Replaced"
// notification in the shape of Coder's webhook envelope (version 1.1).
func coderMessage(msgID, workspace string, buildNum int, replacements map[string]string) string {
	return coderEnvelope(msgID, api.CoderReplacedTemplateID, "Prebuilt Workspace Resource Replaced", map[string]string{
		"org": "acme", "template": "k8s-dev", "template_version": "v3", "preset": "gpu",
		"workspace": workspace, "claimant": "carol", "workspace_build_num": fmt.Sprint(buildNum),
	}, map[string]any{"replacements": replacements})
}

func coderEnvelope(msgID, templateID, name string, labels map[string]string, data map[string]any) string {
	b, err := json.Marshal(map[string]any{
		"_version": "1.1",
		"msg_id":   msgID,
		"payload": map[string]any{
			"_version":                 "1.2",
			"notification_name":        name,
			"notification_template_id": templateID,
			"user_id":                  "1f7c3a52-93a4-4f0e-8d0b-5d7e2a9b6c10",
			"user_email":               "ops@example.com",
			"user_name":                "Ops",
			"user_username":            "ops",
			"actions":                  []map[string]string{{"label": "View workspace build", "url": "https://coder.example.com/builds/1"}},
			"labels":                   labels,
			"data":                     data,
			"targets":                  nil,
		},
		"title":          "A claimed prebuild replaced resources",
		"title_markdown": "A claimed prebuild replaced resources",
		"body":           "Resources were replaced.",
		"body_markdown":  "Resources were **replaced**.",
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestCoderNotifications(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) testStore) {
		w := newWorld(t, open, api.Options{Admission: 1})
		msgID := uuid.NewString()
		body := coderMessage(msgID, "ws-7", 2, map[string]string{
			"docker_container.workspace[0]":                  "env, hostname",
			"module.k8s[\"a.b\"].kubernetes_deployment.main": "metadata.0.labels.app.kubernetes.io/name, spec.0.replicas",
		})
		url := "/api/v1/coder/notifications?token=" + w.tokens["track"]
		var answers []string
		for range 2 {
			a := w.do("POST", url, "", strings.NewReader(body))
			if a.status != 200 {
				t.Fatalf("notification: %d %s", a.status, a.body)
			}
			answers = append(answers, string(a.body))
		}
		if !strings.Contains(answers[0], `"recorded":true`) || !strings.Contains(answers[1], `"recorded":false`) {
			t.Fatalf("answers: %v", answers)
		}
		var hist api.HistoryAnswer
		w.do("GET", "/api/v1/replacements?template=k8s-dev", w.tokens["read"], nil).json(t, &hist)
		if len(hist.History) != 1 {
			t.Fatalf("recorded %d times: %+v", len(hist.History), hist.History)
		}
		e := hist.History[0]
		if e.Source != "coder" || e.Organization != "acme" || e.Preset != "gpu" || e.TemplateVersion != "v3" || e.Workspace != "ws-7" || e.Claimant != "carol" {
			t.Fatalf("entry: %+v", e)
		}
		want := []reconcile.HistoryReplacement{
			{Resource: "docker_container.workspace[0]", Type: "docker_container", Paths: []string{"env", "hostname"}, Changes: []analyzer.Change{}},
			{Resource: "module.k8s[\"a.b\"].kubernetes_deployment.main", Type: "kubernetes_deployment",
				Paths: []string{"metadata.0.labels.app.kubernetes.io/name", "spec.0.replicas"}, PathsAsGiven: true, Changes: []analyzer.Change{}},
		}
		if !reflect.DeepEqual(e.Replacements, want) {
			t.Fatalf("replacements:\n%+v\nwant\n%+v", e.Replacements, want)
		}
		text := w.metrics()
		if l := metricLine(text, "claimdrift_prebuilt_workspaces_resource_replacements_total", `organization_name="acme"`, `preset_name="gpu"`, `template_name="k8s-dev"`); !strings.HasSuffix(l, " 1") {
			t.Fatalf("replacements metric: %q", l)
		}
		if l := metricLine(text, "claimdrift_coder_notifications_total", `result="duplicate"`); !strings.HasSuffix(l, " 1") {
			t.Fatalf("duplicate counter: %q", l)
		}
		// The preset is observed: desired 0, so no pool is made for it.
		var states []reconcile.PresetState
		w.do("GET", "/api/v1/presets", w.tokens["read"], nil).json(t, &states)
		found := false
		for _, s := range states {
			if s.Preset == "gpu" {
				found = true
				if s.Desired != 0 || s.Claims != 1 || s.ClaimsReplaced != 1 {
					t.Fatalf("observed preset: %+v", s)
				}
			}
		}
		if !found {
			t.Fatal("the observed preset is not listed")
		}
		rep, err := w.pool.Plan(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range rep.Actions {
			if a.PresetID == e.PresetID {
				t.Fatalf("a pass would act on the observed preset: %+v", a)
			}
		}
		// The template's admins hear about it, like a tracked claim.
		msgs, err := w.store.OutboxList(t.Context(), "pending")
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].Kind != notify.KindResourceReplaced {
			t.Fatalf("outbox: %+v", msgs)
		}

		// Another message id about the same build is not a second claim.
		a := w.do("POST", url, "", strings.NewReader(coderMessage(uuid.NewString(), "ws-7", 2, map[string]string{"docker_container.workspace[0]": "env"})))
		if a.status != 200 || !strings.Contains(string(a.body), `"recorded":false`) {
			t.Fatalf("same build, new msg_id: %d %s", a.status, a.body)
		}

		// Other kinds: 204, counted.
		other := coderEnvelope(uuid.NewString(), "f517da0b-cdc9-410f-ab89-a86107c420ed", "Workspace Deleted", map[string]string{"name": "ws-1"}, map[string]any{})
		if a := w.do("POST", url, "", strings.NewReader(other)); a.status != 204 {
			t.Fatalf("other kind: %d %s", a.status, a.body)
		}
		if l := metricLine(w.metrics(), "claimdrift_coder_notifications_total", `result="ignored"`); !strings.HasSuffix(l, " 1") {
			t.Fatalf("ignored counter: %q", l)
		}

		// Bad tokens: 401, also through ?token=.
		for _, tok := range []string{"", "cdt_nope", w.tokens["revoked"]} {
			if a := w.do("POST", "/api/v1/coder/notifications?token="+tok, "", strings.NewReader(body)); a.status != 401 {
				t.Fatalf("token %q: %d", tok, a.status)
			}
		}
		if a := w.do("POST", "/api/v1/coder/notifications?token="+w.tokens["read"], "", strings.NewReader(body)); a.status != 403 {
			t.Fatalf("read token: %d", a.status)
		}
		// ?token= works on this endpoint only.
		if a := w.do("GET", "/api/v1/presets?token="+w.tokens["read"], "", nil); a.status != 401 {
			t.Fatalf("?token= on another endpoint: %d", a.status)
		}

		// Malformed: 400, nothing written.
		malformed := map[string]string{
			"not JSON":           "{",
			"no msg_id":          strings.Replace(coderMessage("x", "ws-9", 1, map[string]string{"a.b": "c"}), `"msg_id":"x"`, `"msg_id":""`, 1),
			"msg_id not a UUID":  coderMessage("42", "ws-9", 1, map[string]string{"a.b": "c"}),
			"no workspace":       coderMessage(uuid.NewString(), "", 1, map[string]string{"a.b": "c"}),
			"no replacements":    coderMessage(uuid.NewString(), "ws-9", 1, map[string]string{}),
			"replacements array": strings.Replace(coderMessage(uuid.NewString(), "ws-9", 1, map[string]string{"a.b": "c"}), `{"a.b":"c"}`, `["a.b"]`, 1),
			"bad build number":   strings.Replace(coderMessage(uuid.NewString(), "ws-9", 1, map[string]string{"a.b": "c"}), `"workspace_build_num":"1"`, `"workspace_build_num":"one"`, 1),
			"no payload":         `{"_version":"1.1","msg_id":"` + uuid.NewString() + `"}`,
		}
		for name, b := range malformed {
			a := w.do("POST", url, "", strings.NewReader(b))
			if a.status != 400 {
				t.Fatalf("%s: %d %s", name, a.status, a.body)
			}
			a.errorText(t)
		}
		w.do("GET", "/api/v1/replacements", w.tokens["read"], nil).json(t, &hist)
		if len(hist.History) != 1 {
			t.Fatalf("malformed notifications wrote history: %+v", hist.History)
		}
		w.do("GET", "/api/v1/presets", w.tokens["read"], nil).json(t, &states)
		if len(states) != 3 {
			t.Fatalf("malformed notifications made presets: %+v", states)
		}
	})
}

func TestCoderPaths(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		asGiven bool
	}{
		{"env, hostname", []string{"env", "hostname"}, false},
		{"hostname,env", []string{"env", "hostname"}, false},
		{"metadata.0.name", []string{"metadata[0].name"}, false},
		{"spec.0.template.0.spec.0.container.1.image", []string{"spec[0].template[0].spec[0].container[1].image"}, false},
		{"labels.app", []string{"labels.app"}, false},
		{"labels.app.kubernetes.io/name", []string{"labels.app.kubernetes.io/name"}, true},
		{"env, labels.my key", []string{"env", "labels.my key"}, true},
		{"0.name", []string{"0.name"}, true},
		{"a..b", []string{"a..b"}, true},
		{"", []string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, asGiven := api.CoderPaths(tt.in)
			if !reflect.DeepEqual(got, tt.want) || asGiven != tt.asGiven {
				t.Fatalf("CoderPaths(%q) = %q, %v; want %q, %v", tt.in, got, asGiven, tt.want, tt.asGiven)
			}
		})
	}
}

func TestObservedReplacementOf(t *testing.T) {
	tests := []struct{ addr, module, typ, name string }{
		{"docker_container.workspace[0]", "", "docker_container", "workspace"},
		{"module.ws[\"a.b\"].docker_container.main", "module.ws[\"a.b\"]", "docker_container", "main"},
		{"module.a.module.b[2].aws_instance.web[\"x.y\"]", "module.a.module.b[2]", "aws_instance", "web"},
		{"data.coder_parameter.x", "", "coder_parameter", "x"},
		{"weird", "", "", ""},
	}
	for _, tt := range tests {
		r := reconcile.ObservedReplacementOf(tt.addr, nil)
		if r.Module != tt.module || r.Type != tt.typ || r.Name != tt.name || r.Resource != tt.addr || r.Paths == nil {
			t.Errorf("%s: module %q type %q name %q", tt.addr, r.Module, r.Type, r.Name)
		}
	}
}

func FuzzParseCoderReplacement(f *testing.F) {
	f.Add([]byte(coderMessage("8c0d2f3e-1a2b-4c5d-8e9f-0a1b2c3d4e5f", "ws", 1, map[string]string{"docker_container.main": "env, metadata.0.name"})))
	f.Add([]byte(`{"msg_id":"8c0d2f3e-1a2b-4c5d-8e9f-0a1b2c3d4e5f","payload":{"notification_template_id":"89d9745a-816e-4695-a17f-3d0a229e2b8d","labels":{},"data":null}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		obs, ok, err := api.ParseCoderReplacement(b)
		if err != nil && ok {
			t.Fatal("ok with an error")
		}
		if !ok {
			return
		}
		if obs.MsgID == "" || obs.Template == "" || obs.Preset == "" || obs.Workspace == "" || len(obs.Replacements) == 0 {
			t.Fatalf("accepted an incomplete notification: %+v", obs)
		}
		for _, r := range obs.Replacements {
			if r.Resource == "" || r.Paths == nil {
				t.Fatalf("replacement: %+v", r)
			}
		}
	})
}
