package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/google/uuid"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func sample() Notification {
	return Notification{
		Kind:         KindResourceReplaced,
		CreatedAt:    time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC),
		Organization: "acme",
		TemplateID:   uuid.MustParse("11111111-1111-1111-1111-111111111111"),
		Template:     "docker-dev",
		VersionID:    uuid.MustParse("22222222-2222-2222-2222-222222222222"),
		Version:      "v3",
		PresetID:     uuid.MustParse("33333333-3333-3333-3333-333333333333"),
		Preset:       "small",
		WorkspaceID:  uuid.MustParse("44444444-4444-4444-4444-444444444444"),
		Workspace:    "alice-dev",
		Claimant:     "alice",
		BuildID:      uuid.MustParse("55555555-5555-5555-5555-555555555555"),
		Replacements: ResourcesFrom([]analyzer.Replacement{
			{
				Resource: `module.ws["a"].docker_container.main[0]`, Module: `module.ws["a"]`, Type: "docker_container", Name: "main",
				Reason: "replace_because_cannot_update", Order: analyzer.OrderDestroyBeforeCreate,
				Paths: []string{"env", "name"},
				Changes: []analyzer.Change{
					{Path: "env", Before: analyzer.SensitiveValue, After: analyzer.SensitiveValue, BeforeSensitive: true, AfterSensitive: true},
					{Path: "name", Before: "ws-prebuilds-1", After: "ws-alice-1"},
				},
			},
			{
				Resource: `kubernetes_pod.main`, Type: "kubernetes_pod", Name: "main",
				Reason: "replace_because_cannot_update", Paths: []string{`metadata[0].labels["app.kubernetes.io/name"]`},
				Changes: []analyzer.Change{{Path: `metadata[0].labels["app.kubernetes.io/name"]`, Before: "prebuild", After: "alice"}},
			},
			{Resource: "terraform_data.marker", Type: "terraform_data", Name: "marker", Reason: "replace_by_triggers", Paths: []string{}},
		}),
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestRendering(t *testing.T) {
	n := sample()
	preset := Notification{Kind: KindPresetReplacementProne, CreatedAt: n.CreatedAt, Organization: "acme", Template: "docker-dev", Version: "v3",
		PresetID: n.PresetID, Preset: "small", Reason: "3 of the last 5 claims replaced resources"}
	payload, err := json.MarshalIndent(n.Payload("ops@example.com"), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  string
	}{
		{"replaced.txt", n.Text()},
		{"replaced.md", n.Markdown()},
		{"replaced.json", string(payload) + "\n"},
		{"replacement_prone.txt", preset.Text()},
		{"replacement_prone.md", preset.Markdown()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.name, []byte(tt.got)) })
	}
}

func TestIgnoreChangesFix(t *testing.T) {
	n := sample()
	want := `# in module.ws["a"]
resource "docker_container" "main" {
  lifecycle {
    ignore_changes = [env, name]
  }
}

resource "kubernetes_pod" "main" {
  lifecycle {
    ignore_changes = [metadata[0].labels["app.kubernetes.io/name"]]
  }
}
`
	if got := n.IgnoreChangesFix(); got != want {
		t.Errorf("fix:\n%s\nwant:\n%s", got, want)
	}
	n.Replacements = n.Replacements[2:]
	if got := n.IgnoreChangesFix(); got != "" {
		t.Errorf("fix for a pathless replacement = %q, want empty", got)
	}
}

func TestIgnoreChangesFixFromAddress(t *testing.T) {
	n := Notification{Replacements: []Resource{
		{Resource: `module.a.aws_instance.web["x"]`, Module: "module.a", Paths: []string{"ami"}},
		{Resource: `module.a.aws_instance.web["y"]`, Module: "module.a", Paths: []string{"ami", "user_data"}},
	}}
	want := "# in module.a\nresource \"aws_instance\" \"web\" {\n  lifecycle {\n    ignore_changes = [ami, user_data]\n  }\n}\n"
	if got := n.IgnoreChangesFix(); got != want {
		t.Errorf("fix:\n%s\nwant:\n%s", got, want)
	}
}

func TestPayload(t *testing.T) {
	n := sample()
	raw, err := n.MarshalPayload("hook")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schema"] != "claimdrift.notification/v1" {
		t.Errorf("schema = %v", doc["schema"])
	}
	for _, key := range []string{"dedup_key", "organization", "template", "template_version", "preset", "workspace", "claimant", "build_id", "replacements", "fix", "title", "text", "markdown"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("payload has no %q", key)
		}
	}
	if strings.Contains(string(raw), "ws-prebuilds-1") == false {
		t.Error("payload lost the before value")
	}
}

func TestDedupKey(t *testing.T) {
	n := sample()
	k := n.DedupKey("a")
	if k != n.DedupKey("a") {
		t.Fatal("dedup key is not stable")
	}
	other := n
	other.Replacements = nil
	other.CreatedAt = other.CreatedAt.Add(time.Hour)
	if other.DedupKey("a") != k {
		t.Error("dedup key of a replacement must depend only on workspace, build and recipient")
	}
	for name, m := range map[string]func(*Notification, *string){
		"recipient": func(_ *Notification, r *string) { *r = "b" },
		"build":     func(n *Notification, _ *string) { n.BuildID = uuid.New() },
		"workspace": func(n *Notification, _ *string) { n.WorkspaceID = uuid.New() },
		"kind":      func(n *Notification, _ *string) { n.Kind = KindPresetHardLimited },
	} {
		t.Run(name, func(t *testing.T) {
			c, r := sample(), "a"
			m(&c, &r)
			if c.DedupKey(r) == k {
				t.Errorf("changing the %s kept the dedup key", name)
			}
		})
	}
}

func TestNoSensitiveValueInPayload(t *testing.T) {
	// The analyzer masks sensitive values; the payload must carry the mask,
	// never re-derive a value.
	raw, err := sample().MarshalPayload("")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), analyzer.SensitiveValue) {
		t.Error("masked value missing from payload")
	}
}
