package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/lint"
	"github.com/claimdrift/claimdrift/analyzer/tfshow/tftest"
)

// TestLintOracleRealClaimPlan is the oracle of issue 10: it plans a claim
// of fixtures/lint/oracle with a real terraform 1.5.7 and the project's test
// provider (cmd/terraform-provider-fake, loaded through dev_overrides as
// coder/coder, kreuzwerker/docker and hashicorp/kubernetes), the way
// scripts/fixtures-providers.sh does: apply as the prebuild owner, plan as
// the claimant. Every resource the plan replaces or deletes must have an
// error finding from the static pass, every replaced path must be covered
// by a finding, and what the plan leaves alone must have no error.
//
// The agent token is the same in both runs: on a claim the real coder
// provider reuses the prebuild's token (agentAuthToken, provider/agent.go),
// so it changes only when the agent itself is replaced.
func TestLintOracleRealClaimPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("plans with a real terraform; not in -short")
	}
	tf := terraform157(t)
	tmp := t.TempDir()
	rc := tftest.InstallFakeProvider(t, repoRoot, tmp)
	work := filepath.Join(tmp, "work")
	src := filepath.Join(repoRoot, "fixtures", "lint", "oracle")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile(filepath.Join(src, "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "main.tf"), main, 0o644); err != nil {
		t.Fatal(err)
	}

	base := []string{"TF_CLI_CONFIG_FILE=" + rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
		"CODER_WORKSPACE_ID=7c2d0f5e-3b8a-4d7e-9f21-5a6b4c3d2e10", "CODER_WORKSPACE_TRANSITION=start",
		"CODER_AGENT_TOKEN=fake-agent-token-kept"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "CODER_") && !strings.HasPrefix(k, "TF_") {
			base = append(base, kv)
		}
	}
	prebuild := append(append([]string{}, base...),
		"CODER_WORKSPACE_NAME=ws-prebuilds-1", "CODER_WORKSPACE_OWNER=prebuilds",
		"CODER_WORKSPACE_OWNER_ID=c42fdf75-3097-471c-8c33-fb52454d81c0", "CODER_WORKSPACE_OWNER_NAME=Prebuilds",
		"CODER_WORKSPACE_OWNER_EMAIL=prebuilds@example.com", "CODER_WORKSPACE_IS_PREBUILD=true")
	claim := append(append([]string{}, base...),
		"CODER_WORKSPACE_NAME=ws-alice-1", "CODER_WORKSPACE_OWNER=alice",
		"CODER_WORKSPACE_OWNER_ID=5a1ce000-0000-4000-8000-00000000a11c", "CODER_WORKSPACE_OWNER_NAME=Alice Example",
		"CODER_WORKSPACE_OWNER_EMAIL=alice@example.com", "CODER_WORKSPACE_IS_PREBUILD_CLAIM=true")
	tfRun := func(env []string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(tf, args...)
		cmd.Dir, cmd.Env = work, env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return out
	}
	tfRun(prebuild, "apply", "-auto-approve", "-input=false", "-no-color")
	tfRun(claim, "plan", "-input=false", "-no-color", "-out=plan.tfplan")
	planJSON := tfRun(claim, "show", "-json", "plan.tfplan")

	res, err := lint.Lint(os.DirFS(src), lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type found struct{ errs, any []string }
	byResource := map[string]*found{}
	for _, f := range res.Findings {
		fd := byResource[f.Resource]
		if fd == nil {
			fd = &found{}
			byResource[f.Resource] = fd
		}
		fd.any = append(fd.any, f.Attribute)
		if f.Severity == lint.SeverityError {
			fd.errs = append(fd.errs, f.Attribute)
		}
	}

	rep, err := analyzer.Analyze(bytes.NewReader(planJSON), analyzer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	replaced := map[string]bool{}
	for _, rp := range rep.Replacements {
		addr := rp.Type + "." + rp.Name
		replaced[addr] = true
		t.Logf("the claim plan replaces %s: %s %v", rp.Resource, rp.Reason, rp.Paths)
		fd := byResource[addr]
		if fd == nil || len(fd.errs) == 0 {
			t.Errorf("the claim plan replaces %s (%s, paths %v) and lint has no error for it", rp.Resource, rp.Reason, rp.Paths)
			continue
		}
		for _, p := range rp.Paths {
			covered := false
			for _, a := range fd.any {
				if a == p || strings.HasPrefix(p, a+"[") || strings.HasPrefix(p, a+".") || strings.HasPrefix(a, p+"[") || strings.HasPrefix(a, p+".") {
					covered = true
				}
			}
			if !covered {
				t.Errorf("the claim plan replaces %s because of %s; lint's findings on it cover only %v", rp.Resource, p, fd.any)
			}
		}
	}
	// Instances deleted because their key changed.
	var plan struct {
		ResourceChanges []struct {
			Type, Name string
			Change     struct{ Actions []string }
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(planJSON, &plan); err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{}
	for _, rc := range plan.ResourceChanges {
		addr := rc.Type + "." + rc.Name
		actions[addr] += fmt.Sprint(rc.Change.Actions)
		if strings.Join(rc.Change.Actions, ",") == "delete" {
			if fd := byResource[addr]; fd == nil || len(fd.errs) == 0 {
				t.Errorf("the claim plan deletes an instance of %s and lint has no error for it", addr)
			}
		}
	}
	// The oracle must have something to check, and the resources the plan
	// leaves alone must have no error (the static pass is not just "error
	// everywhere").
	for _, want := range []string{"coder_agent.main", "docker_image.personal", "docker_container.workspace", "kubernetes_pod.tools"} {
		if !replaced[want] {
			t.Errorf("the claim plan does not replace %s (actions %s): the fixture no longer exercises it", want, actions[want])
		}
	}
	for _, stays := range []string{"docker_image.base", "docker_volume.home", "docker_volume.literal_keys", "docker_container.sidecar"} {
		if replaced[stays] {
			t.Errorf("the claim plan replaces %s, which the fixture means to keep", stays)
		}
		if fd := byResource[stays]; fd != nil && len(fd.errs) > 0 {
			t.Errorf("lint reports errors %v on %s, which the claim plan does not replace (actions %s)", fd.errs, stays, actions[stays])
		}
	}
}
