package analyzer_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/analyzer"
)

// openTofuPlans is where FIXTURES_TOOL=tofu scripts/fixtures.sh writes
// OpenTofu's plans of the fixtures (see its README.md).
const openTofuPlans = "../testdata/plans/opentofu"

// TestOpenTofuPlansMatchTerraform analyzes OpenTofu's plan of each fixture
// (show -json and plan -json) next to Terraform's plan of the same
// fixture: the reports must be the same but for the tool's version. Both
// were made from one template with the same steps and variables, so any
// other difference is the analyzer reading one tool's output wrong.
func TestOpenTofuPlansMatchTerraform(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(openTofuPlans, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 10 {
		t.Fatalf("%d OpenTofu plans in %s, want one per fixture (run FIXTURES_TOOL=tofu scripts/fixtures.sh)", len(docs), openTofuPlans)
	}
	for _, doc := range docs {
		name := strings.TrimSuffix(filepath.Base(doc), ".json")
		for _, file := range []string{name + ".json", name + ".stream.jsonl"} {
			t.Run(file, func(t *testing.T) {
				tofu := analyzeFile(t, filepath.Join(openTofuPlans, file))
				tf := analyzeFile(t, filepath.Join("..", "testdata", "plans", file))
				if !strings.HasPrefix(tofu.TerraformVersion, "1.10.") || tf.TerraformVersion != "1.5.7" {
					t.Fatalf("versions: OpenTofu's plan says %q, Terraform's %q", tofu.TerraformVersion, tf.TerraformVersion)
				}
				if file == name+".json" && len(tf.Replacements)+len(tf.Drift)+tf.Summary.Update+tf.Summary.Delete+tf.Summary.Create == 0 && name != "no-change" {
					t.Fatalf("Terraform's plan of %s has nothing to compare", name)
				}
				tofu.TerraformVersion, tf.TerraformVersion = "", ""
				got, want := reportJSON(t, tofu), reportJSON(t, tf)
				if got != want {
					t.Fatalf("OpenTofu's report differs from Terraform's:\nOpenTofu:  %s\nTerraform: %s", got, want)
				}
			})
		}
	}
}

// TestOpenTofuPlansMatchReference runs the terraform-json reference on
// OpenTofu's plan documents too.
func TestOpenTofuPlansMatchReference(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(openTofuPlans, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range docs {
		t.Run(filepath.Base(doc), func(t *testing.T) {
			data, err := os.ReadFile(doc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := analyzer.Analyze(bytes.NewReader(data), analyzer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			compareReports(t, got, referenceReport(t, data, analyzer.Options{}))
		})
	}
}

func analyzeFile(t *testing.T, name string) *analyzer.Report {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := analyzer.Analyze(f, analyzer.Options{})
	if err != nil {
		t.Fatalf("analyze %s: %v", name, err)
	}
	return rep
}

func reportJSON(t *testing.T, rep *analyzer.Report) string {
	t.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
