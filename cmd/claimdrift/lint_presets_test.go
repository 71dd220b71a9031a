package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTemplateImportRefusesTwoDefaultPresets imports a real claim plan
// (testdata/plans/providers/docker.json) whose two presets are both marked
// default: Coder refuses such a template, and so does template import.
func TestTemplateImportRefusesTwoDefaultPresets(t *testing.T) {
	raw, err := os.ReadFile(planPath("providers/docker.json"))
	if err != nil {
		t.Fatal(err)
	}
	var plan map[string]any
	if err := json.Unmarshal(raw, &plan); err != nil {
		t.Fatal(err)
	}
	n := 0
	resources := plan["prior_state"].(map[string]any)["values"].(map[string]any)["root_module"].(map[string]any)["resources"].([]any)
	for _, r := range resources {
		r := r.(map[string]any)
		if r["type"] == "coder_workspace_preset" {
			r["values"].(map[string]any)["default"] = true
			n++
		}
	}
	if n < 2 {
		t.Fatalf("the plan has %d presets, want at least 2", n)
	}
	out, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "two-defaults.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	w := &poolWorld{t: t, db: filepath.Join(t.TempDir(), "p.db")}
	r := w.run("template", "import", "--name", "docker", "--org", "acme", "--version", "v1", p)
	if r.code != 1 || !strings.Contains(r.stderr, "more than one preset is marked default") {
		t.Fatalf("exit %d, stderr %q; want 1 and the refusal", r.code, r.stderr)
	}
	// The unchanged plan (one default at most) imports.
	if r := w.run("template", "import", "--name", "docker", "--org", "acme", "--version", "v1", planPath("providers/docker.json")); r.code != 0 {
		t.Fatalf("unchanged plan: exit %d, stderr %q", r.code, r.stderr)
	}
}
