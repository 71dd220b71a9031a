package render

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/analyzer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden/analyze")

const plansDir = "../../testdata/plans"
const goldenDir = "../../testdata/golden/analyze"

var formatExt = map[string]string{"text": "txt", "json": "json", "markdown": "md", "github": "github.txt"}

// TestGolden renders every fixture plan (document and stream) in every
// format and compares with the golden files; run with -update to rewrite.
func TestGolden(t *testing.T) {
	plans, _ := filepath.Glob(filepath.Join(plansDir, "*.json"))
	streams, _ := filepath.Glob(filepath.Join(plansDir, "*.stream.jsonl"))
	plans = append(plans, streams...)
	if len(plans) < 10 {
		t.Fatalf("found %d fixture plans in %s; run `make fixtures`", len(plans), plansDir)
	}
	for _, plan := range plans {
		name := strings.TrimSuffix(filepath.Base(plan), ".json")
		name = strings.TrimSuffix(name, ".jsonl")
		f, err := os.Open(plan)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := analyzer.Analyze(f, analyzer.Options{})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", plan, err)
		}
		for _, format := range Formats {
			t.Run(name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Write(&buf, format, rep, Options{}); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join(goldenDir, name+"."+formatExt[format])
				if *update {
					if err := os.MkdirAll(goldenDir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./analyzer/render -update)", err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("%s differs from %s (run with -update to accept):\n%s", format, golden, firstDiff(string(want), buf.String()))
				}
			})
		}
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n want %q\n  got %q", i+1, w, g)
		}
	}
	return "(same lines)"
}

func sampleReport(n int, value string) *analyzer.Report {
	r := &analyzer.Report{Schema: analyzer.Schema, Input: analyzer.InputPlanJSON, Replacements: []analyzer.Replacement{}, Drift: []analyzer.Drift{}}
	for i := 0; i < n; i++ {
		r.Replacements = append(r.Replacements, analyzer.Replacement{
			Resource: fmt.Sprintf(`module.ws["k%04d"].docker_container.main`, i),
			Type:     "docker_container", Reason: "replace_because_cannot_update", Order: analyzer.OrderDestroyBeforeCreate,
			Paths:   []string{"name", "env"},
			Changes: []analyzer.Change{{Path: "name", Before: value, After: value + "x"}, {Path: "env", Before: analyzer.SensitiveValue, After: analyzer.SensitiveValue}},
		})
	}
	r.Summary.Replace = n
	return r
}

func TestMarkdownFitsACommentAndSaysWhatWasLeftOut(t *testing.T) {
	for _, n := range []int{1, 50, 400, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Markdown(&buf, sampleReport(n, strings.Repeat("v", 300)), Options{}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if len(out) > MaxCommentSize {
				t.Fatalf("markdown is %d bytes, over GitHub's %d", len(out), MaxCommentSize)
			}
			if !strings.Contains(out, fmt.Sprintf("%d to replace", n)) {
				t.Errorf("summary line missing")
			}
			cut := strings.Contains(out, "left out to fit the comment size limit")
			all := strings.Count(out, "<details>") == n
			if cut == all {
				t.Errorf("n=%d: cut=%v, all details present=%v; want exactly one", n, cut, all)
			}
		})
	}
}

func TestTextColor(t *testing.T) {
	rep := sampleReport(1, "v")
	var plain, colored bytes.Buffer
	_ = Text(&plain, rep, Options{})
	_ = Text(&colored, rep, Options{Color: true})
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain output has escape codes")
	}
	if !strings.Contains(colored.String(), "\x1b[") {
		t.Errorf("colored output has no escape codes")
	}
}

func TestHostileValuesAreNeutralised(t *testing.T) {
	rep := sampleReport(1, "a\x1b[31mred\n::error::injected\r%0A")
	rep.Replacements[0].Resource = "x.y\n::set-env name=A::b"
	for _, format := range []string{"text", "github", "markdown"} {
		var buf bytes.Buffer
		_ = Write(&buf, format, rep, Options{})
		out := buf.String()
		if strings.Contains(out, "\x1b") {
			t.Errorf("%s: raw escape character in output", format)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "::error::injected") || strings.HasPrefix(line, "::set-env") {
				t.Errorf("%s: a plan value started a workflow command: %q", format, line)
			}
		}
	}
}

func TestMarkdownFixIsAnHCLBlock(t *testing.T) {
	rep := sampleReport(1, "v")
	rep.Replacements[0].Fix = "lifecycle {\n  ignore_changes = [\n    name,\n  ]\n}"
	rep.Replacements[0].Risk = analyzer.RiskHigh
	var buf bytes.Buffer
	if err := Markdown(&buf, rep, Options{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "```hcl\nlifecycle {\n  ignore_changes = [\n    name,\n  ]\n}\n```") {
		t.Errorf("fix is not a multi-line hcl block:\n%s", out)
	}
	if !strings.Contains(out, "| **high** |") {
		t.Errorf("high risk not in bold:\n%s", out)
	}
}
