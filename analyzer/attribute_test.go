package analyzer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func analyzeFile(t *testing.T, name string, opts Options) *Report {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "plans", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := Analyze(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func replacement(t *testing.T, rep *Report, addr string) Replacement {
	t.Helper()
	for _, r := range rep.Replacements {
		if r.Resource == addr {
			return r
		}
	}
	t.Fatalf("no replacement %s", addr)
	return Replacement{}
}

func change(t *testing.T, r Replacement, path string) Change {
	t.Helper()
	for _, c := range r.Changes {
		if c.Path == path {
			return c
		}
	}
	t.Fatalf("%s: no change at %s", r.Resource, path)
	return Change{}
}

// TestAttributionThroughModules uses the real plan of fixtures/claim, whose
// child modules take the owner as a variable from the root.
func TestAttributionThroughModules(t *testing.T) {
	rep := analyzeFile(t, "claim.json", Options{ClaimRefs: []string{"var.owner_name"}})
	tests := []struct {
		resource, path string
		refs           []string
		claim          bool
		keys           []string
	}{
		{"module.agent.terraform_data.agent", "triggers_replace", []string{"var.owner_name"}, true, []string{`triggers_replace["owner"]`}},
		// for_each module instance: var.port comes from each.value (a
		// constant map), var.owner from the root variable.
		{`module.apps["jupyter.lab"].terraform_data.app`, "triggers_replace", []string{"var.owner_name"}, true, []string{`triggers_replace["host"]`}},
		{"terraform_data.home_volume", "triggers_replace", []string{"var.owner_name", "var.workspace_name"}, true, nil},
		{"terraform_data.container", "triggers_replace", []string{"local.container_name", "terraform_data.image.output"}, false, []string{`triggers_replace["name"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			c := change(t, replacement(t, rep, tt.resource), tt.path)
			if !reflect.DeepEqual(c.References, tt.refs) {
				t.Errorf("references = %q, want %q", c.References, tt.refs)
			}
			if c.ClaimSensitive != tt.claim {
				t.Errorf("claim_sensitive = %v, want %v", c.ClaimSensitive, tt.claim)
			}
			if tt.keys != nil && !reflect.DeepEqual(c.ChangedKeys, tt.keys) {
				t.Errorf("changed keys = %q, want %q", c.ChangedKeys, tt.keys)
			}
		})
	}
	t.Run("without --claim-ref the root variable is not claim-sensitive", func(t *testing.T) {
		rep := analyzeFile(t, "claim.json", Options{})
		c := change(t, replacement(t, rep, "module.agent.terraform_data.agent"), "triggers_replace")
		if c.ClaimSensitive {
			t.Error("var.owner_name marked claim-sensitive without --claim-ref")
		}
	})
}

// TestAttributionCoderDataSources uses the plans made with the project's
// test providers (coder, docker, kubernetes schemas).
func TestAttributionCoderDataSources(t *testing.T) {
	docker := analyzeFile(t, "providers/docker.json", Options{})
	c := change(t, replacement(t, docker, "docker_container.workspace[0]"), "hostname")
	if !c.ClaimSensitive || !reflect.DeepEqual(c.References, []string{"data.coder_workspace.me.name"}) {
		t.Errorf("hostname: refs %q claim %v", c.References, c.ClaimSensitive)
	}
	vol := replacement(t, docker, "docker_volume.home")
	if vol.Risk != RiskHigh || !vol.ClaimSensitive {
		t.Errorf("docker_volume.home: risk %q claim %v", vol.Risk, vol.ClaimSensitive)
	}
	if !strings.Contains(vol.Fix, "ignore_changes = [") || !strings.Contains(vol.Fix, "    name,") {
		t.Errorf("fix:\n%s", vol.Fix)
	}

	k8s := analyzeFile(t, "providers/kubernetes.json", Options{StatefulTypes: []string{"kubernetes_secret"}})
	pod := change(t, replacement(t, k8s, "kubernetes_pod.tools"), "spec[0].container[0].env[1].value")
	if !pod.ClaimSensitive || pod.References[0] != "data.coder_workspace_owner.me.name" {
		t.Errorf("pod env: %q %v", pod.References, pod.ClaimSensitive)
	}
	dep := replacement(t, k8s, "module.workspace.kubernetes_deployment.main")
	if got := dep.Paths; !reflect.DeepEqual(got, []string{`metadata[0].labels["app.kubernetes.io/name"]`, "metadata[0].name", `spec[0].selector[0].match_labels["app.kubernetes.io/instance"]`}) {
		t.Errorf("deployment paths = %q", got)
	}
	if !strings.Contains(dep.Fix, "map key: only this key is ignored") {
		t.Errorf("fix does not note the map key:\n%s", dep.Fix)
	}
	if r := replacement(t, k8s, "module.workspace.kubernetes_secret.agent"); r.Risk != RiskHigh {
		t.Errorf("--stateful-type not applied: %q", r.Risk)
	}
	if r := replacement(t, k8s, "module.workspace.kubernetes_persistent_volume_claim.home"); r.Risk != RiskHigh {
		t.Errorf("PVC risk %q", r.Risk)
	}
}

func TestIsClaimSensitive(t *testing.T) {
	tests := []struct {
		ref   string
		extra []string
		want  bool
	}{
		{"data.coder_workspace_owner.me.name", nil, true},
		{"data.coder_workspace_owner.me.email", nil, true},
		{"data.coder_workspace_owner.me", nil, true},
		{"data.coder_workspace.me.name", nil, true},
		{"data.coder_workspace.me.owner_email", nil, true},
		{"data.coder_workspace.me.is_prebuild_claim", nil, true},
		{"data.coder_workspace.me.prebuild_count", nil, true},
		{"data.coder_workspace.me", nil, true},
		{"data.coder_workspace.me.id", nil, false},
		{"data.coder_workspace.me.transition", nil, false},
		{"data.coder_workspace.me.start_count", nil, false},
		{"var.owner", nil, false},
		{"var.owner", []string{"var.owner"}, true},
		{"var.owner.name", []string{"var.owner"}, true},
		{"var.owner_name", []string{"var.owner"}, false},
		{"module.x.local.owner", []string{"*.local.owner"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if got := IsClaimSensitive(tt.ref, tt.extra); got != tt.want {
				t.Errorf("IsClaimSensitive(%q, %q) = %v", tt.ref, tt.extra, got)
			}
		})
	}
}

func TestModuleCalls(t *testing.T) {
	tests := []struct {
		addr string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"module.a", []string{"a"}, true},
		{`module.ws["a b"].module.agent["arch.amd64"]`, []string{"ws", "agent"}, true},
		{`module.ws["q\"uote"].module.x[3]`, []string{"ws", "x"}, true},
		{`module.ws["]."]`, []string{"ws"}, true},
		{"resource.x", nil, false},
		{"module.", nil, false},
		{`module.a["unterminated`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, ok := ModuleCalls(tt.addr)
			if ok != tt.ok || (ok && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("ModuleCalls(%q) = %q, %v; want %q, %v", tt.addr, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestFixNotes(t *testing.T) {
	rep := &Replacement{Changes: []Change{
		{Path: "name", Steps: Path{"name"}, References: []string{"data.coder_workspace_owner.me.name"}, ClaimSensitive: true},
		{Path: `labels["app.kubernetes.io/name"]`, Steps: Path{"labels", "app.kubernetes.io/name"}, References: []string{"var.image"}},
		{Path: "ports[0]", Steps: Path{"ports", 0}, References: []string{"data.coder_workspace.me.name"}, ClaimSensitive: true},
	}}
	fix := Fix(rep)
	for _, want := range []string{
		"lifecycle {\n  ignore_changes = [\n    name,\n",
		`labels["app.kubernetes.io/name"], # map key: only this key is ignored; no claim-sensitive input found: ignoring it also hides changes of var.image`,
		"ports[0], # list element [0]: only this element is ignored",
		"  ]\n}",
	} {
		if !strings.Contains(fix, want) {
			t.Errorf("fix lacks %q:\n%s", want, fix)
		}
	}
	if Fix(&Replacement{}) != "" {
		t.Error("fix for a replacement without paths should be empty")
	}
}

func TestPresetsFromPlan(t *testing.T) {
	rep := analyzeFile(t, "providers/docker.json", Options{})
	var std *Preset
	for i := range rep.Presets {
		if rep.Presets[i].Name == "Standard" {
			std = &rep.Presets[i]
		}
	}
	if std == nil {
		t.Fatalf("no Standard preset in %+v", rep.Presets)
	}
	want := Preset{
		Resource: "data.coder_workspace_preset.standard", Name: "Standard", Default: true,
		Parameters: map[string]string{"image": "codercom/enterprise-base:ubuntu"},
		Instances:  2, TTLSeconds: 86400, Timezone: "Europe/Berlin",
		Schedules: []PresetSchedule{{"* 8-18 * * 1-5", 4}, {"* 0-7,19-23 * * 1-5", 1}},
	}
	if !reflect.DeepEqual(*std, want) {
		t.Errorf("preset:\n got  %+v\n want %+v", *std, want)
	}
}

func TestPresetWithUnexpectedShapeIsAWarning(t *testing.T) {
	in := `{"format_version":"1.2","planned_values":{},"prior_state":{"values":{"root_module":{"child_modules":[{"resources":[
	  {"address":"data.coder_workspace_preset.p","mode":"data","type":"coder_workspace_preset","values":{"name":"P","prebuilds":[{"instances":"many"}]}}]}]}}}}`
	rep := analyzeString(t, in, Options{})
	if len(rep.Presets) != 0 || len(rep.Warnings) != 1 {
		t.Errorf("presets %+v warnings %q", rep.Presets, rep.Warnings)
	}
}

func TestReplacedReferencesMarkCascades(t *testing.T) {
	rep := analyzeFile(t, "providers/docker.json", Options{})
	c := replacement(t, rep, "docker_container.workspace[0]")
	cmd := change(t, c, "command")
	if !reflect.DeepEqual(cmd.ReplacedReferences, []string{"coder_agent.main.init_script"}) {
		t.Errorf("command: replaced references %q", cmd.ReplacedReferences)
	}
	if got := change(t, c, "hostname").ReplacedReferences; len(got) != 0 {
		t.Errorf("hostname: %q", got)
	}
	if !strings.Contains(c.Fix, "follows the replacement of coder_agent.main in this plan") {
		t.Errorf("fix does not point at the upstream replacement:\n%s", c.Fix)
	}
}

func TestRefInstanceKey(t *testing.T) {
	tests := []struct {
		ref, module, want string
		ok                bool
	}{
		{"coder_agent.main.init_script", "", "coder_agent.main", true},
		{"docker_volume.home[0].name", "", "docker_volume.home", true},
		{"module.ws.docker_volume.home.name", `module.ws["a.b"]`, `module.ws["a.b"].docker_volume.home`, true},
		{"docker_volume.home.name", `module.ws["a"]`, "docker_volume.home", true},
		{"module.ws.module.inner.x.y.z", `module.ws["a"].module.inner[0]`, `module.ws["a"].module.inner[0].x.y`, true},
		{"module.other.x.y.z", `module.ws["a"]`, "", false},
		{"var.owner", "", "", false},
		{"data.coder_workspace.me.name", "", "", false},
		{"module.workspace.local.name", "module.workspace", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref+"@"+tt.module, func(t *testing.T) {
			got, ok := refInstanceKey(tt.ref, tt.module)
			if ok != tt.ok || got != tt.want {
				t.Errorf("refInstanceKey(%q, %q) = %q, %v; want %q, %v", tt.ref, tt.module, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestIsStatefulType(t *testing.T) {
	tests := []struct {
		typ   string
		extra []string
		want  bool
	}{
		{"docker_volume", nil, true},
		{"aws_ebs_volume", nil, true},
		{"aws_fsx_lustre_file_system", nil, true},
		{"google_compute_disk", nil, true},
		{"azurerm_managed_disk", nil, true},
		{"digitalocean_volume", nil, true},
		{"digitalocean_droplet", nil, false},
		{"incus_storage_volume", nil, true},
		{"incus_volume", nil, true},
		{"incus_instance", nil, false},
		{"docker_container", nil, false},
		{"docker_container", []string{"docker_*"}, true},
		{"kubernetes_secret", []string{"kubernetes_secret"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			if got := IsStatefulType(tt.typ, tt.extra); got != tt.want {
				t.Errorf("IsStatefulType(%q, %q) = %v, want %v", tt.typ, tt.extra, got, tt.want)
			}
		})
	}
}
