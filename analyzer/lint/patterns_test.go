package lint

import (
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/analyzer"
)

// TestPatterns runs lint on the fixtures written in the shapes real Coder
// templates use (issue 10) and checks every finding, so that what is not
// listed (values that stay on claim, ignored arguments, resources that
// are not replaced) is asserted not to be reported.
func TestPatterns(t *testing.T) {
	cases := []struct {
		fixture string
		want    []string // "severity rule resource attribute"
	}{
		{
			// Item 1: through data sources (cloudinit_config through
			// templatefile and a local, template_file); the static
			// cloud-init and coder_parameter values change nothing.
			fixture: "data-sources",
			want: []string{
				"error claim_forces_replacement azurerm_linux_virtual_machine.dev custom_data",
				"error claim_forces_replacement aws_instance.dev user_data",
				"error claim_forces_replacement google_compute_instance.dev metadata_startup_script",
			},
		},
		{
			// Item 2: nested blocks of other resources (metadata[0].name
			// and metadata.0.name), computed values of a replaced
			// resource, replace_triggered_by; docker_image.base, the
			// sidecar and terraform_data.static stay.
			fixture: "references",
			want: []string{
				"error claim_forces_replacement kubernetes_namespace_v1.ws metadata[0].name",
				"error claim_forces_replacement kubernetes_persistent_volume_claim_v1.home metadata[0].namespace",
				"error claim_forces_replacement kubernetes_secret_v1.token metadata[0].namespace",
				"error claim_forces_replacement docker_image.personal name",
				"error claim_forces_replacement docker_container.workspace image",
				"error claim_forces_replacement terraform_data.bootstrap ",
			},
		},
		{
			// Item 3: the agent's ForceNew arguments, and the chain
			// through its id, token and init_script; the fixed agent
			// and its container stay.
			fixture: "agent",
			want: []string{
				"error claim_forces_replacement coder_agent.main dir",
				"error claim_forces_replacement coder_agent.main startup_script",
				"error claim_forces_replacement coder_agent.main env.GIT_AUTHOR_NAME",
				"error claim_forces_replacement coder_app.code agent_id",
				"error claim_forces_replacement coder_script.dotfiles agent_id",
				"error claim_forces_replacement docker_container.workspace entrypoint[2]",
				"error claim_forces_replacement docker_container.workspace env",
			},
		},
		{
			// Item 4: count and for_each (resources and a module call);
			// start_count is not claim-sensitive; literal for_each keys
			// with a claim-sensitive value keep the instance.
			fixture: "instances",
			want: []string{
				"error claim_changes_instances docker_volume.home for_each",
				"error claim_forces_replacement docker_volume.home name",
				"error claim_changes_instances docker_container.warmup count",
				"error claim_forces_replacement docker_volume.data labels",
				"error claim_changes_instances module.tools for_each",
			},
		},
		{
			// Item 5: a static block after a dynamic one is env[1];
			// values from a named iterator are followed.
			fixture: "dynamic",
			want: []string{
				"error claim_forces_replacement kubernetes_pod_v1.static_after_dynamic spec[0].container[0].env[1].value",
				"error claim_forces_replacement kubernetes_pod_v1.iterator spec[0].container[0].env",
			},
		},
		{
			// Item 6: the corrected table.
			fixture: "table",
			want: []string{
				"error claim_forces_replacement kubernetes_deployment_v1.main spec[0].selector[0].match_labels",
				"info claim_updates_in_place kubernetes_deployment_v1.main spec[0].template[0].metadata[0].labels",
				"error claim_forces_replacement kubernetes_stateful_set_v1.db spec[0].service_name",
				"error claim_forces_replacement kubernetes_pod_v1.tools spec[0].service_account_name",
				"error claim_forces_replacement kubernetes_pod_v1.tools spec[0].container[0].working_dir",
				"error claim_forces_replacement google_compute_instance.dev hostname",
				"info claim_updates_in_place google_compute_instance.dev description",
				"error claim_forces_replacement docker_container.workspace platform",
				"error claim_forces_replacement docker_container.workspace cgroup_parent",
				"error claim_forces_replacement docker_image.dev build",
				"error claim_forces_replacement azurerm_linux_virtual_machine.dev admin_ssh_key",
			},
		},
		{
			// Adversarial review: data-holding types in the table (their
			// ForceNew name is an error, not an unknown-attribute
			// warning); labels and tags update in place, so a relabelled
			// disk is not replaced and the instance booting from it stays.
			fixture: "disks",
			want: []string{
				"error claim_forces_replacement google_compute_disk.home name",
				"info claim_updates_in_place google_compute_disk.root labels.owner",
				"error claim_forces_replacement azurerm_resource_group.ws name",
				"info claim_updates_in_place azurerm_resource_group.ws tags.owner",
				"info claim_updates_in_place azurerm_resource_group.static tags.owner",
				"error claim_forces_replacement azurerm_managed_disk.data name",
				"info claim_updates_in_place azurerm_managed_disk.data tags.owner",
			},
		},
		{
			// Kubernetes Service and ConfigMap, AWS EBS volume (in the
			// table since 2026-11-30): ForceNew names and zone are errors;
			// selectors, labels, annotations and tags update in place; a
			// ConfigMap's data is replaced only when it is immutable.
			fixture: "services",
			want: []string{
				"error claim_forces_replacement kubernetes_service_v1.ide metadata[0].name",
				"info claim_updates_in_place kubernetes_service_v1.ide metadata[0].labels",
				`info claim_updates_in_place kubernetes_service.static metadata[0].annotations["coder.com/owner"]`,
				`info claim_updates_in_place kubernetes_service.static spec[0].selector["com.coder.user.username"]`,
				`info claim_updates_in_place kubernetes_config_map_v1.settings data["settings.json"]`,
				"error claim_forces_replacement kubernetes_config_map.frozen data.owner",
				"info claim_updates_in_place aws_ebs_volume.home tags.Owner",
				"error claim_forces_replacement aws_ebs_volume.scratch availability_zone",
			},
		},
		{
			// Coder's DigitalOcean template shape: the droplet's
			// cloud-init user_data carries the owner's name (ForceNew:
			// error); its name and the volume's tags are updated in
			// place; the volume named after the workspace id stays.
			fixture: "digitalocean",
			want: []string{
				"info claim_updates_in_place digitalocean_volume.home_volume tags",
				"info claim_updates_in_place digitalocean_droplet.workspace name",
				"error claim_forces_replacement digitalocean_droplet.workspace user_data",
			},
		},
		{
			// Coder's incus template shape: the instance is renamed and
			// its cloud-init config and devices updated in place (info);
			// a volume named after the owner is replaced (error), under
			// the provider's old resource name too; the one named after
			// the workspace id stays.
			fixture: "incus",
			want: []string{
				"error claim_forces_replacement incus_volume.cache name",
				"info claim_updates_in_place incus_instance.dev name",
				`info claim_updates_in_place incus_instance.dev config["cloud-init.user-data"]`,
				"info claim_updates_in_place incus_instance.dev device",
			},
		},
		{
			// Coder's devcontainer templates: envbuilder's cached image
			// is replaced when its extra_env (the agent's token, the
			// agent being replaced on claim) or git_url changes, updated
			// in place for git credentials.
			fixture: "devcontainer",
			want: []string{
				"error claim_forces_replacement coder_agent.main env.GIT_AUTHOR_NAME",
				"error claim_forces_replacement envbuilder_cached_image.cached extra_env",
				"info claim_updates_in_place envbuilder_cached_image.cached git_username",
				"error claim_forces_replacement envbuilder_cached_image.personal git_url",
			},
		},
		{
			// Coder's azure-linux template shape: the resource group is
			// named after the owner, and every resource in it follows
			// through its ForceNew resource_group_name; the data disk
			// attachment follows the machine; ids of replaced resources
			// and tags change in place; the shared disk stays.
			fixture: "azure",
			want: []string{
				"error claim_forces_replacement azurerm_resource_group.main name",
				"error claim_forces_replacement azurerm_virtual_network.main resource_group_name",
				"error claim_forces_replacement azurerm_subnet.internal resource_group_name",
				"info claim_updates_in_place azurerm_public_ip.main domain_name_label",
				"error claim_forces_replacement azurerm_network_interface.main resource_group_name",
				"info claim_updates_in_place azurerm_network_interface.main ip_configuration[0].subnet_id",
				"info claim_updates_in_place azurerm_network_interface.main tags.owner",
				"error claim_forces_replacement azurerm_linux_virtual_machine.main resource_group_name",
				"info claim_updates_in_place azurerm_linux_virtual_machine.main network_interface_ids[0]",
				"error claim_forces_replacement azurerm_virtual_machine_data_disk_attachment.home virtual_machine_id",
			},
		},
		{
			// Adversarial review: parts of values. Fields of an object
			// local, of a for_each map's values, of the objects a for
			// expression iterates and of a module output map are followed
			// one by one; instance keys from static fields stay.
			fixture: "values",
			want: []string{
				"error claim_forces_replacement docker_container.cfg user",
				"error claim_forces_replacement docker_container.apps user",
				"error claim_forces_replacement docker_volume.disks labels",
				"error claim_changes_instances docker_volume.per_owner for_each",
				"error claim_forces_replacement docker_volume.per_owner name",
				"error claim_forces_replacement docker_container.module_map domainname",
			},
		},
		{
			// Item 8: a .tf.json file (its lines kept), override.tf's
			// ignore_changes covering main.tf's name, and
			// volume_override.tf replacing an argument.
			fixture: "files",
			want: []string{
				"error claim_forces_replacement docker_image.personal name",
				"error claim_forces_replacement kubernetes_pod_v1.tools metadata[0].name",
				"error claim_forces_replacement docker_container.workspace hostname",
				"error claim_forces_replacement docker_volume.home name",
			},
		},
		{
			// Item 10: two presets marked default.
			fixture: "presets",
			want: []string{
				"error multiple_default_presets data.coder_workspace_preset.small default",
				"error multiple_default_presets data.coder_workspace_preset.large default",
			},
		},
		{
			// Item 9: a registry module and a missing local module.
			fixture: "modules-not-read",
			want: []string{
				"warning module_not_read module.code_server ",
				"warning module_not_read module.missing ",
			},
		},
		{
			// Item 11: ignore_changes = all is a warning, but info on a
			// resource that holds data.
			fixture: "ignore-all",
			want: []string{
				"warning ignore_changes_all docker_container.workspace ",
				"warning ignore_changes_all docker_image.base ",
				"info ignore_changes_all docker_volume.home ",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			res, err := lintFixture(t, c.fixture)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, strings.Join([]string{f.Severity.String(), f.Rule, f.Resource, f.Attribute}, " "))
				if f.File == "" || f.Line == 0 || f.Message == "" {
					t.Errorf("finding without location or message: %+v", f)
				}
				if c.fixture == "files" && strings.HasSuffix(f.File, ".json") && f.Line != map[string]int{"docker_image.personal": 5, "kubernetes_pod_v1.tools": 15}[f.Resource] {
					t.Errorf("%s: line %d of the JSON file is not the argument's", f.Resource, f.Line)
				}
				if f.Severity == SeverityError && f.Fix == "" {
					t.Errorf("error without a fix: %+v", f)
				}
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestClaimRefsAgreeWithAnalyze: lint --claim-ref and analyze --claim-ref
// use one matcher (analyzer.ClaimMatcher), so a reference is a finding in
// lint exactly when the plan analysis calls it claim-sensitive. The cases
// include patterns on which the two disagreed before (a glob spanning
// steps, a whole data source object).
func TestClaimRefsAgreeWithAnalyze(t *testing.T) {
	cases := []struct{ pattern, ref string }{
		{"data.external.*.result", "data.external.who.result"},
		{"data.ex*.result", "data.external.who.result"},
		{"data.external.*.result", "data.external.who"},
		{"data.external.*.result", "data.external.who.id"},
		{"var.owner", "var.owner"},
		{"var.owner", "var.owners"},
		{"*.owner", "var.owner"},
		{"local.*", "local.owner"},
	}
	for _, c := range cases {
		t.Run(c.pattern+" "+c.ref, func(t *testing.T) {
			src := "locals {\n  owner = \"x\"\n}\nresource \"docker_container\" \"c\" {\n  name = " + c.ref + "\n}\n"
			res, err := Lint(fstestFS(map[string]string{"main.tf": src}), Options{ClaimRefs: []string{c.pattern}})
			if err != nil {
				t.Fatal(err)
			}
			want := analyzer.IsClaimSensitive(c.ref, []string{c.pattern})
			if got := len(res.Findings) > 0; got != want {
				t.Errorf("lint finds %v, analyze calls it claim-sensitive: %v", got, want)
			}
		})
	}
}
