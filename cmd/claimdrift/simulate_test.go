package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/analyzer/tfshow/tftest"
)

// simulateProvider builds the test provider into a temporary directory,
// installs it under the three provider names and points TF_CLI_CONFIG_FILE
// at a configuration with dev_overrides for them (simulate runs terraform
// with the process environment).
func simulateProvider(t *testing.T) {
	t.Helper()
	t.Setenv("TF_CLI_CONFIG_FILE", tftest.InstallFakeProvider(t, repoRoot, t.TempDir()))
}

// simulateTemplate copies a fixture template into a temporary directory
// named like it, running `terraform get` when it has modules and init is
// set.
func simulateTemplate(t *testing.T, tf, fixture string, init bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), filepath.Base(fixture))
	cmd := exec.Command("cp", "-R", filepath.Join(repoRoot, fixture), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "modules")); err == nil && init {
		get := exec.Command(tf, "get", "-no-color")
		get.Dir = dir
		if out, err := get.CombinedOutput(); err != nil {
			t.Fatalf("terraform get: %v\n%s", err, out)
		}
	}
	return dir
}

func TestSimulateCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("real terraform plans; not in -short")
	}
	tf := terraform157(t)
	simulateProvider(t)
	notDir := filepath.Join(t.TempDir(), "main.tf")
	if err := os.WriteFile(notDir, []byte("# not a directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	varFile := filepath.Join(t.TempDir(), "owner.tfvars")
	if err := os.WriteFile(varFile, []byte("name_by_owner = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		fixture  string // copied to a temporary DIR, which is the last argument
		init     bool
		args     []string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{name: "replacements and re-keys give exit 2", fixture: "fixtures/simulate/fake/keyed", init: true, wantCode: 2,
			wantOut: []string{`claimdrift simulate: preset "Go": prebuild (owner prebuilds`, "claimed by alice (workspace alice-workspace)",
				"-/+ docker_container.sidecar", "replace_by_triggers", "re-keyed on claim", `docker_volume.home["prebuilds"]`, `docker_volume.home["alice"]`}},
		{name: "owner and workspace flags", fixture: "fixtures/simulate/fake/keyed", init: true, wantCode: 2,
			args:    []string{"--owner", "bob", "--workspace-name", "bobs-ws", "--format", "json"},
			wantOut: []string{`"schema": "claimdrift.report/v1"`, `"simulation": {`, `"owner": "bob"`, `"workspace_name": "bobs-ws"`, `docker_volume.home[\"bob\"]`}},
		{name: "markdown", fixture: "fixtures/simulate/fake/module-chain", init: true, wantCode: 2, args: []string{"-f", "markdown"},
			wantOut: []string{"**claimdrift simulate:**", "1 resource will be replaced", "metadata&#91;0&#93;.name"}},
		{name: "github", fixture: "fixtures/simulate/fake/keyed", init: true, wantCode: 2, args: []string{"-f", "github"},
			wantOut: []string{"::warning title=Resource re-keyed%3A docker_volume.home::", "::notice title=claimdrift simulate::"}},
		{name: "nothing replaced gives exit 0", fixture: "fixtures/simulate/fake/clean", init: true, wantCode: 0,
			wantOut: []string{"no resources will be replaced"}},
		{name: "--var reaches the plans", fixture: "fixtures/simulate/fake/clean", init: true, wantCode: 2,
			args: []string{"--var", "name_by_owner=true"}, wantOut: []string{"-/+ docker_container.workspace[0]", "coder-prebuilds → coder-alice"}},
		{name: "--var-file reaches the plans", fixture: "fixtures/simulate/fake/clean", init: true, wantCode: 2,
			args: []string{"--var-file", varFile}, wantOut: []string{"-/+ docker_container.workspace[0]"}},
		{name: "undeclared --var", fixture: "fixtures/simulate/fake/clean", init: true, wantCode: 1,
			args: []string{"--var", "nosuch=1"}, wantErr: "nosuch"},
		{name: "unknown preset", fixture: "fixtures/simulate/fake/keyed", init: true, args: []string{"--preset", "Rust"}, wantCode: 1,
			wantErr: `no such preset "Rust"; the template declares "Go"`},
		{name: "parameter without a default needs --param", fixture: "fixtures/simulate/fake/no-default", wantCode: 1,
			wantErr: `parameter has no value: "region" has no default and no preset sets it; give one with --param region=VALUE`},
		{name: "--param fills it", fixture: "fixtures/simulate/fake/no-default", wantCode: 0,
			args: []string{"--param", "region=eu-west", "--format", "json"}, wantOut: []string{`"region": "eu-west"`}},
		{name: "malformed --param", fixture: "fixtures/simulate/fake/no-default", wantCode: 1,
			args: []string{"--param", "region"}, wantErr: `--param "region": want NAME=VALUE`},
		{name: "uninitialized", fixture: "fixtures/simulate/fake/module-chain", wantCode: 1, wantErr: "run `terraform init` in it"},
		{name: "provider error", fixture: "fixtures/simulate/bad/provider-error", wantCode: 1, wantErr: "invalid coder url"},
		{name: "syntax error", fixture: "fixtures/simulate/bad/syntax", wantCode: 1, wantErr: "main.tf:"},
		{name: "not a directory", args: []string{notDir}, wantCode: 1, wantErr: "not a directory"},
		{name: "no terraform files", args: []string{t.TempDir()}, wantCode: 1, wantErr: "no Terraform configuration files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"simulate", "--terraform", tf}, tt.args...)
			if tt.fixture != "" {
				args = append(args, simulateTemplate(t, tf, tt.fixture, tt.init))
			}
			r := runCLI(t, "", nil, args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			if tt.wantErr != "" {
				if !strings.Contains(r.stderr, tt.wantErr) {
					t.Errorf("stderr lacks %q: %s", tt.wantErr, r.stderr)
				}
				if lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "claimdrift: ") {
					t.Errorf("stderr is not one claimdrift: line: %q", r.stderr)
				}
				if r.stdout != "" {
					t.Errorf("stdout on error: %q", r.stdout)
				}
			}
			if tt.wantCode != 1 && strings.Contains(strings.Join(tt.args, " "), "json") {
				var doc map[string]any
				if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
					t.Errorf("json output: %v", err)
				}
			}
		})
	}
}
