package lint

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/claimdrift/claimdrift/analyzer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixturesDir holds the fixture templates, relative to this package.
const fixturesDir = "../../fixtures/lint"

func lintFixture(t *testing.T, name string, claimRefs ...string) (*Result, error) {
	t.Helper()
	return Lint(os.DirFS(filepath.Join(fixturesDir, name)), Options{
		PathPrefix: "fixtures/lint/" + name,
		ClaimRefs:  claimRefs,
	})
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./analyzer/lint -update after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var goldenExt = map[string]string{"text": "txt", "json": "json", "sarif": "sarif", "github": "github.txt"}

func TestGolden(t *testing.T) {
	cases := []struct {
		fixture   string
		claimRefs []string
		suffix    string
	}{
		{fixture: "docker"},
		{fixture: "kubernetes"},
		{fixture: "docker-fixed"},
		{fixture: "module"},
		{fixture: "module", claimRefs: []string{"var.owner"}, suffix: "-claim-ref"},
		{fixture: "ignore-all"},
		{fixture: "data-sources"},
		{fixture: "references"},
		{fixture: "agent"},
		{fixture: "instances"},
		{fixture: "dynamic"},
		{fixture: "table"},
		{fixture: "modules-not-read"},
		{fixture: "files"},
		{fixture: "presets"},
		{fixture: "disks"},
		{fixture: "values"},
		{fixture: "services"},
		{fixture: "digitalocean"},
		{fixture: "incus"},
		{fixture: "devcontainer"},
		{fixture: "azure"},
	}
	for _, c := range cases {
		res, err := lintFixture(t, c.fixture, c.claimRefs...)
		if err != nil {
			t.Fatalf("lint %s: %v", c.fixture, err)
		}
		for _, format := range Formats {
			t.Run(c.fixture+c.suffix+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Write(&buf, format, res, WriteOptions{ToolVersion: "0.0.0-test"}); err != nil {
					t.Fatal(err)
				}
				golden(t, c.fixture+c.suffix+"."+goldenExt[format], buf.Bytes())
			})
		}
	}
}

// TestFindings checks the substance of the findings, independent of the
// golden files' wording.
func TestFindings(t *testing.T) {
	type want struct {
		rule, resource, attribute string
		severity                  Severity
	}
	cases := []struct {
		fixture   string
		claimRefs []string
		want      []want
	}{
		{
			fixture: "docker",
			want: []want{
				{RuleForcesReplacement, "coder_agent.main", "env.GIT_AUTHOR_NAME", SeverityError},
				{RuleForcesReplacement, "docker_volume.home", "labels", SeverityError},
				{RuleForcesReplacement, "docker_container.workspace", "name", SeverityError},
				{RuleForcesReplacement, "docker_container.workspace", "hostname", SeverityError},
				{RuleUpdatesInPlace, "docker_container.workspace", "memory", SeverityInfo},
				// The agent's init script is new when the agent is replaced.
				{RuleForcesReplacement, "docker_container.workspace", "entrypoint[2]", SeverityError},
				{RuleForcesReplacement, "docker_container.workspace", "env", SeverityError},
				{RuleForcesReplacement, "docker_container.workspace", "labels", SeverityError},
			},
		},
		{
			fixture: "kubernetes",
			want: []want{
				{RuleUpdatesInPlace, "kubernetes_persistent_volume_claim_v1.home", `metadata[0].labels["com.coder.user.username"]`, SeverityInfo},
				{RuleForcesReplacement, "kubernetes_deployment.main", "metadata[0].name", SeverityError},
				{RuleUpdatesInPlace, "kubernetes_deployment.main", `metadata[0].labels["com.coder.user.username"]`, SeverityInfo},
				{RuleUpdatesInPlace, "kubernetes_deployment.main", "spec[0].template[0].spec[0].container[0].env[1].value", SeverityInfo},
				{RuleUpdatesInPlace, "kubernetes_pod_v1.sidecar", `metadata[0].annotations["com.coder.user.email"]`, SeverityInfo},
				{RuleForcesReplacement, "kubernetes_pod_v1.sidecar", "spec[0].container[0].env[0].value", SeverityError},
			},
		},
		{fixture: "docker-fixed"},
		{
			fixture: "module",
			want: []want{
				{RuleForcesReplacement, "terraform_data.bootstrap", "triggers_replace.container", SeverityError},
				{RuleForcesReplacement, "docker_container.workspace", "name", SeverityError},
				{RuleUpdatesInPlace, "docker_container.workspace", "tmpfs", SeverityInfo},
				{RuleForcesReplacement, "docker_container.workspace", "log_opts", SeverityError},
				{RuleUnknownAttribute, "random_pet.nickname", "prefix", SeverityWarning},
			},
		},
		{
			fixture:   "module",
			claimRefs: []string{"var.owner"},
			want: []want{
				{RuleForcesReplacement, "terraform_data.bootstrap", "triggers_replace.container", SeverityError},
				{RuleForcesReplacement, "terraform_data.bootstrap", "triggers_replace.team", SeverityError},
				{RuleForcesReplacement, "docker_container.workspace", "name", SeverityError},
				{RuleUpdatesInPlace, "docker_container.workspace", "tmpfs", SeverityInfo},
				{RuleForcesReplacement, "docker_container.workspace", "log_opts", SeverityError},
				{RuleUnknownAttribute, "random_pet.nickname", "prefix", SeverityWarning},
			},
		},
		{
			fixture: "ignore-all",
			want: []want{
				{RuleIgnoreChangesAll, "docker_container.workspace", "", SeverityWarning},
				{RuleIgnoreChangesAll, "docker_image.base", "", SeverityWarning},
				{RuleIgnoreChangesAll, "docker_volume.home", "", SeverityInfo},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.fixture+strings.Join(c.claimRefs, ","), func(t *testing.T) {
			res, err := lintFixture(t, c.fixture, c.claimRefs...)
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, f := range res.Findings {
				got = append(got, want{f.Rule, f.Resource, f.Attribute, f.Severity})
				if f.File == "" || f.Line == 0 || f.Column == 0 || f.Message == "" {
					t.Errorf("finding without location or message: %+v", f)
				}
				if f.Severity == SeverityError && f.Attribute != "" && f.Rule != RuleInstanceKeys && !strings.Contains(f.Fix, "ignore_changes = [") {
					t.Errorf("error finding without an ignore_changes fix: %+v", f)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d findings %+v, want %d %+v", len(got), got, len(c.want), c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("finding %d: got %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestBrokenHCL(t *testing.T) {
	_, err := lintFixture(t, "broken")
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrSyntax) {
		t.Fatalf("got %v, want a *ParseError wrapping ErrSyntax", err)
	}
	if pe.File != "fixtures/lint/broken/main.tf" || pe.Line != 5 {
		t.Errorf("got %s:%d, want fixtures/lint/broken/main.tf:5", pe.File, pe.Line)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "fixtures/lint/broken/main.tf:5: ") || strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line starting with file:line", msg)
	}
}

func TestNoConfig(t *testing.T) {
	_, err := Lint(fstest.MapFS{"README.md": {Data: []byte("x")}}, Options{})
	if !errors.Is(err, ErrNoConfig) {
		t.Fatalf("got %v, want ErrNoConfig", err)
	}
}

func TestSnippets(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		claimRefs []string
		want      []string // rule attribute
	}{
		{
			name: "for over a resource's instances reads the attribute it names",
			src: `resource "docker_volume" "v" {
  count = 2
  name  = "data-${count.index}"
  labels {
    label = "owner"
    value = data.coder_workspace_owner.me.name
  }
}
resource "docker_container" "c" {
  name = join(",", [for v in docker_volume.v : v.name])
}`,
			want: []string{"claim_forces_replacement labels"},
		},
		{
			name: "for over a resource's instances: an attribute that follows the owner",
			src: `resource "docker_volume" "v" {
  count = 2
  name  = "data-${data.coder_workspace_owner.me.name}-${count.index}"
}
resource "docker_container" "c" {
  name = join(",", [for v in docker_volume.v : v.name])
}`,
			want: []string{"claim_forces_replacement name", "claim_forces_replacement name"},
		},
		{
			name: "for over a resource's instances: their number follows the owner",
			src: `resource "docker_volume" "v" {
  for_each = toset([data.coder_workspace_owner.me.name])
  name     = "data"
}
resource "docker_container" "c" {
  name = join(",", [for v in docker_volume.v : v.name])
}`,
			want: []string{"claim_changes_instances for_each", "claim_forces_replacement name"},
		},
		{
			name: "for over a resource's instances: a computed attribute of instances a claim replaces",
			src: `resource "docker_volume" "v" {
  count = 2
  name  = "data-${count.index}"
  labels {
    label = "owner"
    value = data.coder_workspace_owner.me.name
  }
}
resource "docker_container" "c" {
  name = join(",", [for v in docker_volume.v : v.id])
}`,
			want: []string{"claim_forces_replacement labels", "claim_forces_replacement name"},
		},
		{
			name: "for over a resource's instances: their keys follow the owner",
			src: `resource "docker_volume" "v" {
  for_each = { (data.coder_workspace_owner.me.name) = "data" }
  name     = "data"
}
resource "docker_container" "c" {
  labels {
    label = "volumes"
    value = jsonencode({ for k, v in docker_volume.v : k => v.name })
  }
}`,
			want: []string{"claim_changes_instances for_each", "claim_forces_replacement labels"},
		},
		{
			name: "for over a resource's own instances does not loop",
			src: `resource "docker_volume" "w" {
  for_each = { for k, v in docker_volume.w : k => v.name }
  name     = "x"
}
resource "docker_volume" "a" {
  for_each = { for k, v in docker_volume.b : k => v.name }
  name     = "x"
}
resource "docker_volume" "b" {
  for_each = { for k, v in docker_volume.a : k => v.name }
  name     = "y"
}
resource "docker_volume" "c" {
  count = length([for v in docker_volume.c : v.name])
  name  = "z"
}`,
		},
		{
			name: "coder_workspace id and transition are not claim-sensitive",
			src: `resource "docker_container" "c" {
  name = "ws-${data.coder_workspace.me.id}-${data.coder_workspace.me.transition}"
}`,
		},
		{
			name: "owner attributes of coder_workspace are",
			src: `resource "docker_container" "c" {
  name = data.coder_workspace.me.owner_name
}`,
			want: []string{"claim_forces_replacement name"},
		},
		{
			name: "whole owner object",
			src: `resource "docker_container" "c" {
  name = jsonencode(data.coder_workspace_owner.me)
}`,
			want: []string{"claim_forces_replacement name"},
		},
		{
			name: "coder resources are linted: every argument is ForceNew",
			src: `resource "coder_metadata" "m" {
  item { value = data.coder_workspace_owner.me.name }
}`,
			want: []string{"claim_forces_replacement item[0].value"},
		},
		{
			name: "extra claim ref glob",
			src: `resource "docker_container" "c" {
  name = data.external.who.result
}`,
			claimRefs: []string{"data.external.*.result"},
			want:      []string{"claim_forces_replacement name"},
		},
		{
			name: "string ignore_changes entries and prefixes",
			src: `resource "kubernetes_pod_v1" "p" {
  metadata {
    name   = data.coder_workspace_owner.me.name
    labels = { owner = data.coder_workspace_owner.me.name }
  }
  lifecycle {
    ignore_changes = ["metadata[0].name", metadata[0].labels]
  }
}`,
		},
		{
			name: "map key in ignore_changes",
			src: `resource "kubernetes_pod_v1" "p" {
  metadata {
    labels = { "a.b/c" = data.coder_workspace_owner.me.name, d = data.coder_workspace.me.name }
  }
  lifecycle {
    ignore_changes = [metadata[0].labels["a.b/c"]]
  }
}`,
			want: []string{"claim_updates_in_place metadata[0].labels.d"},
		},
		{
			name: "dynamic block counts for the block",
			src: `resource "docker_container" "c" {
  dynamic "labels" {
    for_each = { owner = data.coder_workspace_owner.me.name }
    content {
      label = labels.key
      value = labels.value
    }
  }
}`,
			want: []string{"claim_forces_replacement labels"},
		},
		{
			name: "conditional attribute",
			src: `resource "aws_instance" "a" {
  user_data = data.coder_workspace_owner.me.name
}
resource "aws_instance" "b" {
  user_data                   = data.coder_workspace_owner.me.name
  user_data_replace_on_change = true
}
resource "aws_instance" "c" {
  user_data                   = data.coder_workspace_owner.me.name
  user_data_replace_on_change = var.replace
}`,
			want: []string{"claim_updates_in_place user_data", "claim_forces_replacement user_data", "claim_unknown_attribute user_data"},
		},
		{
			name: "resource to resource",
			src: `resource "docker_volume" "v" {
  name = "home-${data.coder_workspace_owner.me.name}"
}
resource "docker_container" "c" {
  volumes {
    volume_name = docker_volume.v.name
  }
}`,
			want: []string{"claim_forces_replacement name", "claim_forces_replacement volumes"},
		},
		{
			name: "an ignored argument of a referenced resource does not change",
			src: `resource "docker_volume" "v" {
  name = "home-${data.coder_workspace_owner.me.name}"
  lifecycle {
    ignore_changes = [name]
  }
}
resource "docker_container" "c" {
  volumes {
    volume_name = docker_volume.v.name
  }
}`,
		},
		{
			name: "module outputs and inputs",
			src: `module "m" {
  source = "./mod"
  who    = data.coder_workspace_owner.me.name
}
resource "docker_container" "c" {
  name = module.m.out
}`,
			want: []string{"claim_forces_replacement name"},
		},
		{
			name: "local cycle does not loop",
			src: `locals {
  a = local.b
  b = local.a
}
resource "docker_container" "c" {
  name = local.a
}`,
		},
		{
			name: "existing lifecycle is extended in the fix",
			src: `resource "docker_container" "c" {
  name = data.coder_workspace_owner.me.name
  lifecycle {
    ignore_changes = [env]
  }
}`,
			want: []string{"claim_forces_replacement name"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Lint(fstest.MapFS{
				"main.tf":     {Data: []byte(c.src)},
				"mod/main.tf": {Data: []byte(`output "out" { value = "x-${var.who}" }`)},
			}, Options{ClaimRefs: c.claimRefs})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.Rule+" "+f.Attribute)
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if c.name == "existing lifecycle is extended in the fix" && res.Findings[0].Fix != "ignore_changes = [env, name]" {
				t.Errorf("fix = %q", res.Findings[0].Fix)
			}
		})
	}
}

func TestTable(t *testing.T) {
	tb, err := loadTable(replaceTableJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{
		"docker_container", "docker_volume", "docker_image",
		"kubernetes_pod", "kubernetes_pod_v1", "kubernetes_deployment", "kubernetes_deployment_v1",
		"kubernetes_persistent_volume_claim", "kubernetes_persistent_volume_claim_v1",
		"kubernetes_stateful_set", "kubernetes_stateful_set_v1",
		"kubernetes_config_map", "kubernetes_config_map_v1", "kubernetes_service", "kubernetes_service_v1",
		"aws_instance", "aws_ebs_volume", "aws_ec2_instance_state", "google_compute_instance", "digitalocean_droplet", "digitalocean_volume",
		"incus_instance", "incus_storage_volume", "incus_volume", "envbuilder_cached_image",
		"azurerm_virtual_network", "azurerm_subnet", "azurerm_network_interface", "azurerm_public_ip", "azurerm_virtual_machine_data_disk_attachment",
		"azurerm_linux_virtual_machine", "azurerm_windows_virtual_machine",
	} {
		if tb[typ] == nil || tb[typ].source == "" {
			t.Errorf("table has no entry with a source note for %s", typ)
		}
	}
	cases := []struct {
		typ  string
		path analyzer.Path
		want string
	}{
		{"docker_container", analyzer.Path{"name"}, behaviourReplace},
		{"docker_container", analyzer.Path{"memory"}, behaviourUpdate},
		{"docker_container", analyzer.Path{"labels", 0, "value"}, behaviourReplace},
		{"kubernetes_pod", analyzer.Path{"metadata", 0, "name"}, behaviourReplace},
		{"kubernetes_pod", analyzer.Path{"metadata", 0, "labels", "x"}, behaviourUpdate},
		{"kubernetes_persistent_volume_claim_v1", analyzer.Path{"spec", 0, "resources", 0, "requests", "storage"}, behaviourUpdate},
		{"kubernetes_persistent_volume_claim_v1", analyzer.Path{"spec", 0, "resources", 0, "limits", "storage"}, behaviourReplace},
		{"aws_instance", analyzer.Path{"tags", "Owner"}, behaviourUpdate},
		{"aws_instance", analyzer.Path{"user_data"}, behaviourConditional},
		{"google_compute_instance", analyzer.Path{"name"}, behaviourReplace},
		{"azurerm_linux_virtual_machine", analyzer.Path{"computer_name"}, behaviourReplace},
		{"azurerm_windows_virtual_machine", analyzer.Path{"tags", "owner"}, behaviourUpdate},
		{"kubernetes_service_v1", analyzer.Path{"spec", 0, "cluster_ip"}, behaviourReplace},
		{"kubernetes_service", analyzer.Path{"metadata", 0, "name"}, behaviourReplace},
		{"kubernetes_service", analyzer.Path{"spec", 0, "selector", "app"}, behaviourUpdate},
		{"kubernetes_service_v1", analyzer.Path{"spec", 0, "port", 0, "target_port"}, behaviourUpdate},
		{"kubernetes_config_map_v1", analyzer.Path{"data", "settings.json"}, behaviourConditional},
		{"kubernetes_config_map", analyzer.Path{"metadata", 0, "namespace"}, behaviourReplace},
		{"kubernetes_config_map", analyzer.Path{"metadata", 0, "labels", "owner"}, behaviourUpdate},
		{"aws_ebs_volume", analyzer.Path{"availability_zone"}, behaviourReplace},
		{"aws_ebs_volume", analyzer.Path{"snapshot_id"}, behaviourReplace},
		{"aws_ebs_volume", analyzer.Path{"size"}, behaviourUpdate},
		{"aws_ebs_volume", analyzer.Path{"tags", "Owner"}, behaviourUpdate},
		{"digitalocean_droplet", analyzer.Path{"user_data"}, behaviourReplace},
		{"digitalocean_droplet", analyzer.Path{"name"}, behaviourUpdate},
		{"digitalocean_droplet", analyzer.Path{"tags", 0}, behaviourUpdate},
		{"digitalocean_volume", analyzer.Path{"name"}, behaviourReplace},
		{"digitalocean_volume", analyzer.Path{"size"}, behaviourUpdate},
		{"incus_instance", analyzer.Path{"image"}, behaviourReplace},
		{"incus_instance", analyzer.Path{"name"}, behaviourUpdate},
		{"incus_instance", analyzer.Path{"config", "cloud-init.user-data"}, behaviourUpdate},
		{"incus_volume", analyzer.Path{"name"}, behaviourReplace},
		{"incus_storage_volume", analyzer.Path{"config", "size"}, behaviourUpdate},
		{"envbuilder_cached_image", analyzer.Path{"extra_env", "CODER_AGENT_TOKEN"}, behaviourReplace},
		{"envbuilder_cached_image", analyzer.Path{"fallback_image"}, behaviourUpdate},
		{"azurerm_network_interface", analyzer.Path{"resource_group_name"}, behaviourReplace},
		{"azurerm_network_interface", analyzer.Path{"ip_configuration", 0, "subnet_id"}, behaviourUpdate},
		{"azurerm_public_ip", analyzer.Path{"sku"}, behaviourReplace},
		{"azurerm_virtual_machine_data_disk_attachment", analyzer.Path{"caching"}, behaviourUpdate},
		{"aws_ec2_instance_state", analyzer.Path{"instance_id"}, behaviourReplace},
		{"aws_ec2_instance_state", analyzer.Path{"state"}, behaviourUpdate},
		// Provider v6's Region-aware resources replace on a new region.
		{"aws_instance", analyzer.Path{"region"}, behaviourReplace},
		{"aws_ebs_volume", analyzer.Path{"region"}, behaviourReplace},
		{"aws_ec2_instance_state", analyzer.Path{"region"}, behaviourReplace},
		{"docker_container", analyzer.Path{"not_an_attribute"}, behaviourUnknown},
	}
	for _, c := range cases {
		t.Run(c.typ+"."+c.path.String(), func(t *testing.T) {
			e, _ := tb[c.typ].lookup(c.path)
			if e.behaviour != c.want {
				t.Errorf("got %q, want %q", e.behaviour, c.want)
			}
		})
	}
	if got := tb["docker_container"].setPrefix(analyzer.Path{"env", 3}).String(); got != "env" {
		t.Errorf("set prefix of env[3] = %q, want env", got)
	}
}

func TestParseSeverity(t *testing.T) {
	for _, s := range []Severity{SeverityInfo, SeverityWarning, SeverityError} {
		got, err := ParseSeverity(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSeverity(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseSeverity("fatal"); err == nil {
		t.Error("want an error for an unknown severity")
	}
}

func fstestFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, src := range files {
		m[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return m
}
