package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lintGolden reads a golden file of the lint package; the CLI must print
// exactly what the package's writers print.
func lintGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("analyzer", "lint", "testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLintCLIGolden runs `claimdrift lint` in-process from the repository
// root on the fixtures and compares stdout with the lint package's golden
// files (refresh them with go test ./analyzer/lint -update).
func TestLintCLIGolden(t *testing.T) {
	t.Chdir(repoRoot)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		golden   string
	}{
		{"docker text", []string{"lint", "fixtures/lint/docker"}, 2, "docker.txt"},
		{"docker json", []string{"lint", "--format", "json", "fixtures/lint/docker"}, 2, "docker.json"},
		{"docker sarif", []string{"lint", "-f", "sarif", "fixtures/lint/docker"}, 2, "docker.sarif"},
		{"docker github", []string{"lint", "--format", "github", "fixtures/lint/docker"}, 2, "docker.github.txt"},
		{"kubernetes text", []string{"lint", "fixtures/lint/kubernetes/"}, 2, "kubernetes.txt"},
		{"fixed template is clean", []string{"lint", "fixtures/lint/docker-fixed"}, 0, "docker-fixed.txt"},
		{"module and locals", []string{"lint", "-f", "json", "fixtures/lint/module"}, 2, "module.json"},
		{"extra claim ref", []string{"lint", "-f", "json", "--claim-ref", "var.owner", "fixtures/lint/module"}, 2, "module-claim-ref.json"},
		{"ignore_changes = all warns only", []string{"lint", "fixtures/lint/ignore-all"}, 0, "ignore-all.txt"},
		{"fail-on warning", []string{"lint", "--fail-on", "warning", "-f", "github", "fixtures/lint/ignore-all"}, 2, "ignore-all.github.txt"},
		{"plan confirms", []string{"lint", "-f", "json", "--plan", "testdata/plans/providers/docker.json", "fixtures/providers/docker"}, 2, "plan-docker.json"},
		{"plan of the fixed template", []string{"lint", "--plan", "testdata/plans/providers/docker-fixed.json", "fixtures/providers/docker-fixed"}, 2, "plan-docker-fixed.txt"},
		{"plan through a module", []string{"lint", "--plan", "testdata/plans/providers/kubernetes.json", "fixtures/providers/kubernetes"}, 2, "plan-kubernetes.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, tt.wantCode, r.stderr)
			}
			if r.stderr != "" {
				t.Errorf("unexpected stderr: %s", r.stderr)
			}
			want := lintGolden(t, tt.golden)
			got := r.stdout
			if strings.HasSuffix(tt.golden, ".sarif") {
				// The package's goldens record a fixed tool version.
				got = strings.Replace(got, `"version": "`+buildVersion()+`"`, `"version": "0.0.0-test"`, 1)
				// The CLI records the linted directory's absolute path
				// as %SRCROOT%; the package goldens have none.
				abs, err := filepath.Abs(tt.args[len(tt.args)-1])
				if err != nil {
					t.Fatal(err)
				}
				base := "      \"originalUriBaseIds\": {\n        \"%SRCROOT%\": {\n          \"uri\": \"file://" + abs + "/\"\n        }\n      },\n"
				if !strings.Contains(got, base) {
					t.Errorf("no %%SRCROOT%% base for %s in:\n%s", abs, got)
				}
				got = strings.Replace(got, base, "", 1)
			}
			if got != want {
				t.Errorf("stdout differs from %s:\n--- got\n%s\n--- want\n%s", tt.golden, got, want)
			}
		})
	}
}

func TestLintCLIExitCodes(t *testing.T) {
	t.Chdir(repoRoot)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string
		wantStderr string
	}{
		{"info findings fail with --fail-on info", []string{"lint", "--fail-on", "info", "fixtures/lint/module"}, 2, []string{"[claim_updates_in_place]"}, ""},
		{"warnings do not fail by default", []string{"lint", "-f", "json", "fixtures/lint/ignore-all"}, 0, []string{`"rule": "ignore_changes_all"`, `"severity": "warning"`}, ""},
		{"unparsable HCL", []string{"lint", "fixtures/lint/broken"}, 1, nil,
			"claimdrift: fixtures/lint/broken/main.tf:5: Invalid multi-line string: "},
		{"missing directory", []string{"lint", "fixtures/lint/does-not-exist"}, 1, nil, "claimdrift: stat fixtures/lint/does-not-exist: "},
		{"not a directory", []string{"lint", "fixtures/lint/docker/main.tf"}, 1, nil, "claimdrift: lint fixtures/lint/docker/main.tf: not a directory"},
		{"no .tf files", []string{"lint", "fixtures/lint/module/modules"}, 1, nil, "claimdrift: fixtures/lint/module/modules: no .tf files"},
		{"bad format", []string{"lint", "-f", "xml", "fixtures/lint/docker"}, 1, nil, `claimdrift: --format "xml": want one of text, json, sarif, github`},
		{"bad fail-on", []string{"lint", "--fail-on", "fatal", "fixtures/lint/docker"}, 1, nil, `claimdrift: --fail-on: unknown severity "fatal"`},
		{"bad claim ref", []string{"lint", "--claim-ref", "var..x", "fixtures/lint/docker"}, 1, nil, `claimdrift: invalid claim reference pattern "var..x": empty step`},
		{"analyze main.tf says to use lint", []string{"analyze", "fixtures/lint/docker/main.tf"}, 1, nil, "claimdrift: fixtures/lint/docker/main.tf is Terraform configuration, not a plan: claimdrift lint fixtures/lint/docker checks"},
		{"analyze DIR says to use lint", []string{"analyze", "fixtures/lint/docker"}, 1, nil, "claimdrift: read plan fixtures/lint/docker: is a directory: claimdrift lint fixtures/lint/docker checks"},
		{"plan of another template", []string{"lint", "--plan", "testdata/plans/providers/kubernetes.json", "fixtures/providers/docker"}, 1, nil, "claimdrift: lint --plan testdata/plans/providers/kubernetes.json: the plan is not of this template: it replaces "},
		{"--plan with two directories", []string{"lint", "--plan", "testdata/plans/providers/docker.json", "fixtures/lint/docker", "fixtures/lint/module"}, 1, nil, "claimdrift: --plan is the plan of one template"},
		{"several directories", []string{"lint", "-f", "json", "fixtures/lint/docker", "fixtures/lint/module"}, 2, []string{`"file": "fixtures/lint/docker/main.tf"`, `"file": "fixtures/lint/module/modules/workspace/main.tf"`}, ""},
		{"analyze: bad claim ref", []string{"analyze", "--claim-ref", "var..x", "testdata/plans/claim.json"}, 1, nil, `claimdrift: invalid claim reference pattern "var..x": empty step`},
		{"missing plan", []string{"lint", "--plan", "testdata/plans/nope.json", "fixtures/lint/docker"}, 1, nil, "claimdrift: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout: %s; stderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			if tt.wantStderr != "" {
				if !strings.HasPrefix(r.stderr, tt.wantStderr) {
					t.Errorf("stderr %q does not start with %q", r.stderr, tt.wantStderr)
				}
				if tt.wantCode == 1 && r.stdout != "" {
					t.Errorf("stdout not empty on error: %s", r.stdout)
				}
				if first := strings.SplitN(r.stderr, "\n", 2)[0]; strings.Contains(first, "\n") {
					t.Errorf("error is not on one line: %q", r.stderr)
				}
			}
		})
	}
}

// TestLintCLIBinaryPlan confirms the static findings of the claim fixture
// against its binary plan file, shown with terraform 1.5.7; module instances
// with for_each keys match the module that declares the resource.
func TestLintCLIBinaryPlan(t *testing.T) {
	tf := terraform157(t)
	t.Chdir(repoRoot)
	r := runCLI(t, "", nil, "lint", "-f", "json", "--terraform", tf,
		"--claim-ref", "var.owner_name", "--claim-ref", "var.workspace_name",
		"--plan", "testdata/plans/claim.tfplan", "fixtures/claim")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr: %s", r.code, r.stderr)
	}
	var doc struct {
		Schema   string `json:"schema"`
		Findings []struct {
			Rule, Resource, Attribute, File, Plan string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range doc.Findings {
		got[f.File+" "+f.Resource+" "+f.Attribute] = f.Plan
	}
	want := map[string]string{
		"fixtures/claim/main.tf terraform_data.home_volume triggers_replace.name":                  "confirmed",
		`fixtures/claim/main.tf terraform_data.home_volume triggers_replace.labels["coder.owner"]`: "confirmed",
		"fixtures/claim/main.tf terraform_data.container triggers_replace.name":                    "confirmed",
		"fixtures/claim/main.tf terraform_data.metadata input.workspace":                           "not_replaced",
		"fixtures/claim/modules/agent/main.tf terraform_data.agent triggers_replace.owner":         "confirmed",
		"fixtures/claim/modules/app/main.tf terraform_data.app triggers_replace.host":              "confirmed",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: plan %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d findings, want %d: %v", len(got), len(want), got)
	}
}

func TestLintCLIColor(t *testing.T) {
	t.Chdir(repoRoot)
	tty := runCLI(t, "", map[string]string{"TTY": "1"}, "lint", "fixtures/lint/docker")
	if !strings.Contains(tty.stdout, "\x1b[31merror\x1b[0m") {
		t.Errorf("no color on a terminal:\n%s", tty.stdout)
	}
	for name, args := range map[string][]string{
		"--no-color": {"lint", "--no-color", "fixtures/lint/docker"},
	} {
		r := runCLI(t, "", map[string]string{"TTY": "1"}, args...)
		if strings.Contains(r.stdout, "\x1b[") {
			t.Errorf("%s: color in output", name)
		}
	}
	r := runCLI(t, "", map[string]string{"TTY": "1", "NO_COLOR": "1"}, "lint", "fixtures/lint/docker")
	if strings.Contains(r.stdout, "\x1b[") {
		t.Error("NO_COLOR: color in output")
	}
}

func TestLintCLIDefaultDirAndStdinPlan(t *testing.T) {
	plan, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "plans", "providers", "docker.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(repoRoot, "fixtures", "providers", "docker"))
	r := runCLI(t, string(plan), nil, "lint", "--format", "github", "--plan", "-")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr: %s", r.code, r.stderr)
	}
	for _, w := range []string{
		"::error file=main.tf,line=105,col=3,title=claim_forces_replacement%3A docker_container.workspace::",
		// The agent chain explains the new command (the agent's init script).
		"::error file=main.tf,line=108,col=27,title=claim_forces_replacement%3A docker_container.workspace::`command[2]` depends on",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "plan_replacement_missed") {
		t.Errorf("a replacement of the claim plan was missed:\n%s", r.stdout)
	}
}
