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

// TestLintCLISARIFAbsoluteDir: with an absolute DIR, SARIF file locations
// stay relative to it (uriBaseId %SRCROOT%), and the run's
// originalUriBaseIds resolve %SRCROOT% to the directory's file URI.
func TestLintCLISARIFAbsoluteDir(t *testing.T) {
	abs, err := filepath.Abs(filepath.Join(repoRoot, "fixtures", "lint", "module"))
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", nil, "lint", "-f", "sarif", abs)
	if r.code != 2 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	var doc struct {
		Runs []struct {
			OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
			Results            []struct {
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || doc.Runs[0].OriginalURIBaseIDs["%SRCROOT%"].URI != "file://"+filepath.ToSlash(abs)+"/" {
		t.Fatalf("runs %+v: want one run with %%SRCROOT%% = file://%s/", doc.Runs, abs)
	}
	uris := map[string]bool{}
	for _, res := range doc.Runs[0].Results {
		for _, l := range res.Locations {
			a := l.PhysicalLocation.ArtifactLocation
			if a.URIBaseID != "%SRCROOT%" {
				t.Errorf("uriBaseId %q", a.URIBaseID)
			}
			uris[a.URI] = true
		}
	}
	if !uris["main.tf"] || !uris["modules/workspace/main.tf"] || len(uris) != 2 {
		t.Errorf("locations %v, want main.tf and modules/workspace/main.tf relative to the linted directory", uris)
	}
}
