package lint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Microsoft's SARIF Multitool and the official SARIF 2.1.0 schema, as
// `make tools` installs them (npm install --prefix .tools/node
// @microsoft/sarif-multitool @microsoft/jest-sarif).
const (
	multitoolPath   = "../../.tools/node/node_modules/.bin/sarif-multitool"
	sarifSchemaPath = "../../.tools/node/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"
)

func multitool(t *testing.T) (tool, schema string) {
	t.Helper()
	tool, _ = filepath.Abs(multitoolPath)
	schema, _ = filepath.Abs(sarifSchemaPath)
	for _, p := range []string{tool, schema} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("SARIF Multitool missing in CI (%v); run make tools", err)
			}
			t.Skipf("SARIF Multitool not installed (%v); run make tools", err)
		}
	}
	return tool, schema
}

// validateSARIF runs `sarif-multitool validate -j SCHEMA -o OUT FILES...` and
// returns the problems it reports at level "error". The tool exits 0 even
// when it finds problems; they are results in OUT, which must not exist yet.
func validateSARIF(t *testing.T, files ...string) []string {
	t.Helper()
	tool, schema := multitool(t)
	out := filepath.Join(t.TempDir(), "validation.sarif")
	args := append([]string{"validate", "-j", schema, "-o", out}, files...)
	cmd := exec.Command(tool, args...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("sarif-multitool validate: %v\n%s", err, stdout.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("read validation output: %v\n%s", err, stdout.String())
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				RuleID  string `json:"ruleId"`
				Level   string `json:"level"`
				Message struct {
					Text      string   `json:"text"`
					Arguments []string `json:"arguments"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse validation output: %v", err)
	}
	var problems []string
	for _, run := range doc.Runs {
		for _, r := range run.Results {
			// A result without a level has the rule's default, "warning".
			if r.Level != "error" {
				continue
			}
			where := ""
			if len(r.Locations) > 0 {
				where = r.Locations[0].PhysicalLocation.ArtifactLocation.URI + ": "
			}
			problems = append(problems, where+r.RuleID+" "+r.Message.Text+" "+strings.Join(r.Message.Arguments, " | "))
		}
	}
	return problems
}

// TestSARIFMultitoolValidate checks that the SARIF output of every fixture
// passes Microsoft's SARIF Multitool validation against the official schema
// with no error.
func TestSARIFMultitoolValidate(t *testing.T) {
	multitool(t)
	dir := t.TempDir()
	var files []string
	for _, name := range []string{"docker", "kubernetes", "docker-fixed", "module", "ignore-all"} {
		res, err := lintFixture(t, name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteSARIF(&buf, res, WriteOptions{ToolVersion: "1.2.3"}); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".sarif")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	// A result with no location (a plan replacement no file declares).
	var buf bytes.Buffer
	res := &Result{Findings: []Finding{{Rule: RulePlanMissed, Severity: SeverityError, Resource: "module.ws.docker_container.main[0]", Message: "replaced", Plan: PlanMissed}}}
	if err := WriteSARIF(&buf, res, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "plan.sarif")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, p)

	for _, problem := range validateSARIF(t, files...) {
		t.Error(problem)
	}
}

// TestSARIFMultitoolCatchesErrors is the control for the test above: the
// validator must report a document that breaks the schema.
func TestSARIFMultitoolCatchesErrors(t *testing.T) {
	multitool(t)
	p := filepath.Join(t.TempDir(), "broken.sarif")
	broken := `{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[{"level":"fatal","message":{"text":"m"}}]}]}`
	if err := os.WriteFile(p, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if problems := validateSARIF(t, p); len(problems) == 0 {
		t.Fatal("the SARIF Multitool reported no error for a document that breaks the schema")
	}
}

// TestSARIFRelativeLocations lints with an absolute directory (as
// `claimdrift lint /abs/dir --format sarif` does) and checks that file
// locations are URIs relative to the linted directory with uriBaseId
// %SRCROOT%, resolved by originalUriBaseIds, never bare absolute paths; two
// directories make two runs. The Multitool validates both logs.
func TestSARIFRelativeLocations(t *testing.T) {
	var results []*Result
	var roots []string
	for _, name := range []string{"docker", "module"} {
		abs, err := filepath.Abs(filepath.Join(fixturesDir, name))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Lint(os.DirFS(abs), Options{PathPrefix: filepath.ToSlash(abs), Root: abs})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
		roots = append(roots, abs)
	}
	dir := t.TempDir()
	for i, res := range []*Result{results[0], Merge(results...)} {
		var buf bytes.Buffer
		if err := WriteSARIF(&buf, res, WriteOptions{ToolVersion: "1.2.3"}); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Runs []struct {
				OriginalURIBaseIDs map[string]struct {
					URI string `json:"uri"`
				} `json:"originalUriBaseIds"`
				Results []struct {
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
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if want := i + 1; len(doc.Runs) != want {
			t.Fatalf("log %d: %d runs, want %d", i, len(doc.Runs), want)
		}
		n := 0
		for r, run := range doc.Runs {
			if got, want := run.OriginalURIBaseIDs["%SRCROOT%"].URI, "file://"+filepath.ToSlash(roots[r])+"/"; got != want {
				t.Errorf("run %d: %%SRCROOT%% = %q, want %q", r, got, want)
			}
			for _, res := range run.Results {
				for _, loc := range res.Locations {
					a := loc.PhysicalLocation.ArtifactLocation
					n++
					if a.URIBaseID != "%SRCROOT%" || strings.HasPrefix(a.URI, "/") || strings.Contains(a.URI, ":") || strings.Contains(a.URI, "fixtures") {
						t.Errorf("run %d: location %+v is not relative to the linted directory", r, a)
					}
				}
			}
		}
		if n == 0 {
			t.Fatal("no locations to check")
		}
		p := filepath.Join(dir, fmt.Sprintf("abs-%d.sarif", i))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if problems := validateSARIF(t, p); len(problems) > 0 {
			t.Errorf("SARIF Multitool reports:\n%s", strings.Join(problems, "\n"))
		}
	}
}
