package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/analyzer/tfshow/tftest"
)

func TestAnalyzeExitCodesAndFormats(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  []string
	}{
		{"replacements give exit 2", []string{"analyze", planPath("claim.json")}, "", 2,
			[]string{"5 resources will be replaced", `module.apps["jupyter.lab"].terraform_data.app`, "prebuilds", "alice"}},
		{"no change gives exit 0", []string{"analyze", planPath("no-change.json")}, "", 0, []string{"no resources will be replaced"}},
		{"destroy plan has no replacement", []string{"analyze", planPath("destroy.json")}, "", 0, []string{"4 to delete"}},
		{"stream input", []string{"analyze", planPath("tainted.stream.jsonl")}, "", 2,
			[]string{"replace_because_tainted", "does not carry attribute paths"}},
		{"json format", []string{"analyze", "--format", "json", planPath("replace-request.json")}, "", 2,
			[]string{`"schema": "claimdrift.report/v1"`, `"reason": "replace_by_request"`, `"paths": []`}},
		{"markdown format", []string{"analyze", "-f", "markdown", planPath("claim.json")}, "", 2, []string{"| Resource | Reason | Order | Paths | Risk |", "<details>"}},
		{"github format", []string{"analyze", "--format", "github", planPath("claim.json")}, "", 2, []string{"::warning title=Resource replaced%3A "}},
		{"ignore drops matches", []string{"analyze", "--ignore", "module.*", "--ignore", "terraform_data.*", planPath("claim.json")}, "", 0,
			[]string{"no resources will be replaced (5 more ignored)"}},
		{"stdin with dash", []string{"analyze", "-"}, "@" + planPath("tainted.json"), 2, []string{"terraform_data.session"}},
		{"stdin without argument", []string{"analyze"}, "@" + planPath("no-change.json"), 0, []string{"no resources"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdin := tt.stdin
			if strings.HasPrefix(stdin, "@") {
				b, err := os.ReadFile(stdin[1:])
				if err != nil {
					t.Fatal(err)
				}
				stdin = string(b)
			}
			r := runCLI(t, stdin, nil, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, tt.wantCode, r.stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

func TestAnalyzeJSONIsDeterministicAndValid(t *testing.T) {
	a := runCLI(t, "", nil, "analyze", "--format", "json", planPath("nested-modules.json"))
	b := runCLI(t, "", nil, "analyze", "--format", "json", planPath("nested-modules.json"))
	if a.stdout != b.stdout {
		t.Fatal("two runs gave different JSON")
	}
	var rep struct {
		Replacements []struct {
			Resource string   `json:"resource"`
			Paths    []string `json:"paths"`
		} `json:"replacements"`
	}
	if err := json.Unmarshal([]byte(a.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range rep.Replacements {
		keys = append(keys, r.Resource)
	}
	joined := strings.Join(keys, "\n")
	for _, want := range []string{`module.ws["a b"]`, `module.ws["x.y"]`, `module.ws["q\"uote"]`} {
		if !strings.Contains(joined, want) {
			t.Errorf("no replacement under %s in:\n%s", want, joined)
		}
	}
}

func TestAnalyzeNeverPrintsSensitiveFixtureValues(t *testing.T) {
	// fixtures/sensitive feeds sensitive variables into replaced attributes;
	// their values also sit in clear text in the plan's "variables" section.
	// Terraform's plan and OpenTofu's, both documents and streams.
	for _, name := range []string{"sensitive.json", "sensitive.stream.jsonl", "opentofu/sensitive.json", "opentofu/sensitive.stream.jsonl"} {
		t.Run(name, func(t *testing.T) {
			secrets := sensitiveVariableValues(t, planPath(strings.Replace(name, ".stream.jsonl", ".json", 1)))
			for _, format := range []string{"text", "json", "markdown", "github"} {
				r := runCLI(t, "", nil, "analyze", "--format", format, planPath(name))
				for _, s := range secrets {
					if strings.Contains(r.stdout+r.stderr, s) {
						t.Errorf("%s output contains the sensitive value %q", format, s)
					}
				}
				if !strings.Contains(r.stdout, "data.credentials") {
					t.Errorf("%s output does not name the replaced terraform_data.credentials:\n%s", format, r.stdout)
				}
				if !strings.HasSuffix(name, ".jsonl") && !strings.Contains(r.stdout, "(sensitive value)") {
					t.Errorf("%s output does not say a value was masked", format)
				}
			}
		})
	}
}

// sensitiveVariableValues returns the values of the plan document's
// variables that its configuration marks sensitive.
func sensitiveVariableValues(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Variables map[string]struct {
			Value any `json:"value"`
		} `json:"variables"`
		Configuration struct {
			RootModule struct {
				Variables map[string]struct {
					Sensitive bool `json:"sensitive"`
				} `json:"variables"`
			} `json:"root_module"`
		} `json:"configuration"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for name, v := range doc.Configuration.RootModule.Variables {
		if s, ok := doc.Variables[name].Value.(string); v.Sensitive && ok && s != "" {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		t.Fatalf("%s has no sensitive variable values to check against", path)
	}
	return secrets
}

func TestAnalyzeBadInputIsOneLineExit1(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full, _ := os.ReadFile(planPath("claim.json"))
	tests := []struct {
		name, path, want string
	}{
		{"empty", write("empty.json", ""), "empty input"},
		{"not json", write("text.txt", "Plan: 1 to add, 0 to change, 0 to destroy."), "not JSON"},
		{"truncated", write("trunc.json", string(full[:len(full)/2])), "truncated"},
		{"array", write("array.json", "[]"), "JSON array"},
		{"state", write("state.json", `{"format_version":"1.0","terraform_version":"1.5.7","values":{}}`), "state document"},
		{"future format", write("future.json", `{"format_version":"2.1","planned_values":{}}`), "unsupported plan format_version"},
		{"wrong type", write("wrong.json", `{"format_version":"1.2","resource_changes":"none"}`), "expected an array"},
		{"random bytes", write("random.bin", "\x8f\x00\xffgarbage\x01"), "not JSON"},
		{"missing file", filepath.Join(dir, "nope.json"), "no such file"},
		{"directory", dir, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, "analyze", tt.path)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1", r.code)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "claimdrift: ") {
				t.Errorf("stderr is not one line: %q", r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
		})
	}
}

func TestAnalyzeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"analyze", "--format", "yaml", planPath("claim.json")},
		{"analyze", "--no-such-flag"},
		{"analyze", "a", "b"},
	} {
		r := runCLI(t, "", nil, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "claimdrift: ") {
			t.Errorf("%v: exit %d stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestAnalyzeBinaryPlan(t *testing.T) {
	tf := terraform157(t)
	r := runCLI(t, "", nil, "analyze", "--terraform", tf, "--format", "json", planPath("claim.tfplan"))
	want := runCLI(t, "", nil, "analyze", "--format", "json", planPath("claim.json"))
	if r.code != 2 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// claim.tfplan and claim.json come from the same plan run.
	var got, exp struct {
		Replacements []struct {
			Resource string   `json:"resource"`
			Paths    []string `json:"paths"`
		} `json:"replacements"`
	}
	_ = json.Unmarshal([]byte(r.stdout), &got)
	_ = json.Unmarshal([]byte(want.stdout), &exp)
	if len(got.Replacements) == 0 || len(got.Replacements) != len(exp.Replacements) {
		t.Fatalf("binary plan gave %d replacements, JSON plan %d", len(got.Replacements), len(exp.Replacements))
	}
	for i := range got.Replacements {
		if got.Replacements[i].Resource != exp.Replacements[i].Resource {
			t.Errorf("replacement %d: %s vs %s", i, got.Replacements[i].Resource, exp.Replacements[i].Resource)
		}
	}

	t.Run("binary plan on stdin", func(t *testing.T) {
		b, err := os.ReadFile(planPath("claim.tfplan"))
		if err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, string(b), nil, "analyze", "--terraform", tf, "-")
		if r.code != 2 || !strings.Contains(r.stdout, "5 resources will be replaced") {
			t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

// TestAnalyzeOpenTofuBinaryPlan analyzes the binary plan OpenTofu wrote
// for the claim fixture: through the tofu named by --terraform, and
// through the tofu found on PATH (no terraform there), the report is the
// one of that plan's show -json document.
func TestAnalyzeOpenTofuBinaryPlan(t *testing.T) {
	tofu := tftest.OpenTofu(t, repoRoot)
	plan, _ := filepath.Abs(planPath("opentofu/claim.tfplan"))
	want := runCLI(t, "", nil, "analyze", "--format", "json", planPath("opentofu/claim.json"))
	if want.code != 2 || !strings.Contains(want.stdout, `"terraform_version": "1.10.10"`) {
		t.Fatalf("the JSON plan: exit %d, stdout %q", want.code, want.stdout)
	}
	t.Run("--terraform tofu", func(t *testing.T) {
		r := runCLI(t, "", nil, "analyze", "--terraform", tofu, "--format", "json", plan)
		if r.code != 2 || r.stdout != want.stdout {
			t.Fatalf("exit %d, stderr %q; report:\n%s\nwant the JSON plan's:\n%s", r.code, r.stderr, r.stdout, want.stdout)
		}
	})
	t.Run("tofu on PATH", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Symlink(tofu, filepath.Join(dir, "tofu")); err != nil {
			t.Fatal(err)
		}
		wd, _ := os.Getwd()
		t.Chdir(t.TempDir()) // no ./.tools/bin here
		defer os.Chdir(wd)
		t.Setenv("PATH", dir)
		r := runCLI(t, "", nil, "analyze", "--format", "json", plan)
		if r.code != 2 || r.stdout != want.stdout {
			t.Fatalf("exit %d, stderr %q; report:\n%s", r.code, r.stderr, r.stdout)
		}
	})
}

func TestAnalyzeBinaryPlanWithoutTerraform(t *testing.T) {
	// No terraform anywhere: an empty PATH, and a working directory without
	// .tools/bin.
	t.Setenv("PATH", t.TempDir())
	wd, _ := os.Getwd()
	plan, _ := filepath.Abs(planPath("claim.tfplan"))
	t.Chdir(t.TempDir())
	defer os.Chdir(wd)
	r := runCLI(t, "", nil, "analyze", plan)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	for _, want := range []string{"binary plan file", "terraform show -json", "1.5.7"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q does not mention %q", r.stderr, want)
		}
	}
}

func TestAnalyzeBinaryPlanVersionMismatch(t *testing.T) {
	// A terraform of another version: the machine's own when it has one,
	// else a stand-in that answers `version -json` like terraform 9.9.9
	// does (only the version lookup runs; show is never reached).
	dir := t.TempDir()
	other, err := exec.LookPath("terraform")
	if err == nil {
		out, _ := exec.Command(other, "version").Output()
		if strings.Contains(string(out), "v1.5.7") {
			err = errors.New("same version")
		}
	}
	if err == nil {
		if err := os.Symlink(other, filepath.Join(dir, "terraform")); err != nil {
			t.Fatal(err)
		}
	} else {
		script := "#!/bin/sh\necho '{\"terraform_version\":\"9.9.9\",\"platform\":\"linux_amd64\"}'\n"
		if err := os.WriteFile(filepath.Join(dir, "terraform"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wd, _ := os.Getwd()
	plan, _ := filepath.Abs(planPath("claim.tfplan"))
	t.Chdir(t.TempDir()) // no ./.tools/bin with 1.5.7 here
	defer os.Chdir(wd)
	t.Setenv("PATH", dir)
	r := runCLI(t, "", nil, "analyze", plan)
	if r.code != 1 || !strings.Contains(r.stderr, "written by 1.5.7") || !strings.Contains(r.stderr, "--terraform") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}

func TestAnalyzeColor(t *testing.T) {
	tty := runCLI(t, "", map[string]string{"TTY": "1"}, "analyze", planPath("claim.json"))
	if !strings.Contains(tty.stdout, "\x1b[") {
		t.Error("no color on a terminal")
	}
	for name, env := range map[string]map[string]string{
		"NO_COLOR":  {"TTY": "1", "NO_COLOR": "1"},
		"not a tty": {},
	} {
		r := runCLI(t, "", env, "analyze", planPath("claim.json"))
		if strings.Contains(r.stdout, "\x1b[") {
			t.Errorf("%s: color codes in output", name)
		}
	}
	r := runCLI(t, "", map[string]string{"TTY": "1"}, "--no-color", "analyze", planPath("claim.json"))
	if strings.Contains(r.stdout, "\x1b[") {
		t.Error("--no-color: color codes in output")
	}
}

func TestAnalyzeGitHubStepSummary(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	r := runCLI(t, "", map[string]string{"GITHUB_STEP_SUMMARY": summary}, "analyze", "--format", "github", planPath("claim.json"))
	if r.code != 2 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(b), "| Resource | Reason | Order | Paths | Risk |") {
		t.Errorf("job summary not written: %v %q", err, b)
	}
}

// TestBinaryExitCodes runs the compiled binary: exit codes as a process
// sees them, and no Go stack trace on bad input.
func TestBinaryExitCodes(t *testing.T) {
	bin := buildBinary(t)
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"analyze", planPath("claim.json")}, 2},
		{[]string{"analyze", planPath("no-change.json")}, 0},
		{[]string{"analyze", "/dev/null"}, 1},
		{[]string{"version"}, 0},
		{[]string{"--help"}, 0},
		{[]string{"completion", "bash"}, 0},
		{[]string{"no-such-command"}, 1},
	} {
		cmd := exec.Command(bin, tt.args...)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d\n%s", tt.args, code, tt.code, out)
		}
		if strings.Contains(string(out), "goroutine ") || strings.Contains(string(out), "panic:") {
			t.Errorf("%v: Go stack in output", tt.args)
		}
	}
}

func TestAnalyzeAttributionFlags(t *testing.T) {
	r := runCLI(t, "", nil, "analyze", "--format", "json", "--claim-ref", "var.owner_name", planPath("claim.json"))
	var rep struct {
		Replacements []struct {
			Resource       string `json:"resource"`
			ClaimSensitive bool   `json:"claim_sensitive"`
			Risk           string `json:"risk"`
			Fix            string `json:"fix"`
			Changes        []struct {
				References     []string `json:"references"`
				ClaimSensitive bool     `json:"claim_sensitive"`
			} `json:"changes"`
		} `json:"replacements"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range rep.Replacements {
		if x.Resource == "module.agent.terraform_data.agent" {
			found = true
			if !x.ClaimSensitive || x.Risk != "normal" || !strings.Contains(x.Fix, "ignore_changes") ||
				len(x.Changes) != 1 || x.Changes[0].References[0] != "var.owner_name" {
				t.Errorf("module.agent replacement: %+v", x)
			}
		}
	}
	if !found {
		t.Fatal("module.agent.terraform_data.agent not in report")
	}
	r = runCLI(t, "", nil, "analyze", "--stateful-type", "terraform_*", planPath("claim.json"))
	if !strings.Contains(r.stdout, "risk: high") {
		t.Errorf("--stateful-type did not raise the risk:\n%s", r.stdout)
	}
}

func TestPresetsCommand(t *testing.T) {
	r := runCLI(t, "", nil, "presets", planPath("providers/docker.json"))
	if r.code != 0 || !strings.Contains(r.stdout, "Standard (default)") || !strings.Contains(r.stdout, `"* 8-18 * * 1-5"=4`) {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "", nil, "presets", "--format", "json", planPath("providers/docker.json"))
	var out struct {
		Schema  string `json:"schema"`
		Presets []struct {
			Name      string `json:"name"`
			Instances int    `json:"instances"`
		} `json:"presets"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Schema != "claimdrift.presets/v1" || len(out.Presets) != 2 {
		t.Errorf("json: %v %+v", err, out)
	}
	r = runCLI(t, "", nil, "presets", planPath("claim.json"))
	if r.code != 0 || !strings.Contains(r.stdout, "no presets") {
		t.Errorf("exit %d %q", r.code, r.stdout)
	}
}
