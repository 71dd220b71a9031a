package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/analyzer/tfshow/tftest"
)

// repoRoot is the module root, two levels up from this package.
const repoRoot = "../.."

// findTerraform returns a terraform binary: ./.tools/bin/terraform (what
// `make tools` installs), else one on PATH. Without one the test fails in CI
// and is skipped elsewhere.
func findTerraform(t *testing.T) string {
	t.Helper()
	if p, err := filepath.Abs(filepath.Join(repoRoot, ".tools", "bin", "terraform")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no terraform binary (./.tools/bin/terraform or on PATH); run: make tools")
	}
	t.Skip("no terraform binary (./.tools/bin/terraform or on PATH); run: make tools")
	return ""
}

// planSummary is what must not drift between the committed plans and the
// provider: every resource change's actions and sorted replace paths.
func planSummary(t *testing.T, planJSON []byte) map[string]string {
	t.Helper()
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions      []string          `json:"actions"`
				ReplacePaths []json.RawMessage `json:"replace_paths"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(planJSON, &plan); err != nil {
		t.Fatalf("read plan: %v", err)
	}
	out := map[string]string{}
	for _, rc := range plan.ResourceChanges {
		paths := make([]string, len(rc.Change.ReplacePaths))
		for i, p := range rc.Change.ReplacePaths {
			paths[i] = string(p)
		}
		sort.Strings(paths)
		out[rc.Address] = strings.Join(rc.Change.Actions, ",") + " " + strings.Join(paths, " ")
	}
	return out
}

// TestFixturePlansMatchCommitted plans every template of fixtures/providers
// as scripts/fixtures-providers.sh does and checks that the committed
// testdata/plans/providers/NAME.json has the same changes and replace
// paths: a provider change that alters them needs `make fixtures`.
func TestFixturePlansMatchCommitted(t *testing.T) {
	if testing.Short() {
		t.Skip("plans with a real terraform; not in -short")
	}
	tf := findTerraform(t)
	tmp := t.TempDir()
	rc := tftest.InstallFakeProvider(t, repoRoot, tmp)

	base := []string{"TF_CLI_CONFIG_FILE=" + rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "CODER_") && !strings.HasPrefix(k, "TF_") {
			base = append(base, kv)
		}
	}
	base = append(base,
		"CODER_WORKSPACE_ID=7c2d0f5e-3b8a-4d7e-9f21-5a6b4c3d2e10",
		"CODER_WORKSPACE_TRANSITION=start",
	)
	prebuild := append(append([]string{}, base...),
		"CODER_WORKSPACE_NAME=ws-prebuilds-1", "CODER_WORKSPACE_OWNER=prebuilds",
		"CODER_WORKSPACE_OWNER_ID=c42fdf75-3097-471c-8c33-fb52454d81c0", "CODER_WORKSPACE_OWNER_NAME=Prebuilds",
		"CODER_WORKSPACE_OWNER_EMAIL=prebuilds@example.com", "CODER_WORKSPACE_IS_PREBUILD=true",
		"CODER_AGENT_TOKEN=fake-agent-token-prebuilds")
	claim := append(append([]string{}, base...),
		"CODER_WORKSPACE_NAME=ws-alice-1", "CODER_WORKSPACE_OWNER=alice",
		"CODER_WORKSPACE_OWNER_ID=5a1ce000-0000-4000-8000-00000000a11c", "CODER_WORKSPACE_OWNER_NAME=Alice Example",
		"CODER_WORKSPACE_OWNER_EMAIL=alice@example.com", "CODER_WORKSPACE_IS_PREBUILD_CLAIM=true",
		"CODER_AGENT_TOKEN=fake-agent-token-alice")

	templates, err := filepath.Glob(filepath.Join(repoRoot, "fixtures", "providers", "*", "main.tf"))
	if err != nil || len(templates) == 0 {
		t.Fatalf("no templates in fixtures/providers (%v)", err)
	}
	for _, main := range templates {
		name := filepath.Base(filepath.Dir(main))
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "plans", "providers", name+".json"))
			if err != nil {
				t.Fatalf("committed plan: %v (run: scripts/fixtures-providers.sh %s)", err, name)
			}
			work := filepath.Join(tmp, "work", name)
			tftest.CopyTree(t, filepath.Dir(main), work)
			run := func(env []string, args ...string) []byte {
				t.Helper()
				cmd := exec.Command(tf, args...)
				cmd.Dir, cmd.Env = work, env
				out, err := cmd.Output()
				if err != nil {
					stderr := ""
					if ee, ok := err.(*exec.ExitError); ok {
						stderr = string(ee.Stderr)
					}
					t.Fatalf("terraform %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
				}
				return out
			}
			if _, err := os.Stat(filepath.Join(work, "modules")); err == nil {
				run(base, "get", "-no-color")
			}
			run(prebuild, "apply", "-auto-approve", "-input=false", "-no-color")
			run(claim, "plan", "-input=false", "-no-color", "-out=plan.tfplan")
			got := run(claim, "show", "-json", "plan.tfplan")
			if g, w := planSummary(t, got), planSummary(t, want); !reflect.DeepEqual(g, w) {
				t.Errorf("plan of fixtures/providers/%s differs from testdata/plans/providers/%s.json "+
					"(regenerate with scripts/fixtures-providers.sh):\n got: %v\nwant: %v", name, name, g, w)
			}
		})
	}
}
