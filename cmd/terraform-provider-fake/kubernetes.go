package main

// The hashicorp/kubernetes provider, the parts workspace templates use.
//
// Source notes (github.com/hashicorp/terraform-provider-kubernetes,
// kubernetes/):
//   - schema_metadata.go: metadata is a list block with MaxItems 1;
//     metadata.name and metadata.namespace are ForceNew (namespace defaults
//     to "default"); labels and annotations are plain maps, updatable in
//     place; uid, resource_version and generation are computed. The SDK
//     reports these as ["metadata", 0, "name"].
//   - schema_persistent_volume_claim.go: spec.access_modes (a set) and
//     storage_class_name (optional, computed) are ForceNew;
//     resources.requests can grow in place.
//   - resource_kubernetes_secret.go: data is a sensitive map; type is
//     ForceNew.
//   - the container schema, containerFields(isUpdatable), makes a container's
//     name, image, command and each env entry's name and value ForceNew for
//     a bare pod (isUpdatable false), so a pod whose second env value
//     changes is replaced with ["spec", 0, "container", 0, "env", 1,
//     "value"]; in a deployment's pod template the same fields are
//     updatable (the deployment rolls its pods).
//
// Not in the real provider: the deployment's ModifyPlan below requires
// replacement for single map keys, metadata[0].labels["app.kubernetes.io/name"]
// and every key of spec[0].selector[0].match_labels. The selector half is
// what the Kubernetes API enforces (a Deployment's selector is immutable
// in apps/v1); the label half stands for providers that do the same for
// one key. It makes real plans carry keyed replace paths such as
// ["metadata", 0, "labels", "app.kubernetes.io/name"].

import (
	"context"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func kubernetesKind() kind {
	return kind{
		name:    "kubernetes",
		address: "registry.terraform.io/hashicorp/kubernetes",
		schema: pschema.Schema{Attributes: map[string]pschema.Attribute{
			"config_path":    pschema.StringAttribute{Optional: true},
			"config_context": pschema.StringAttribute{Optional: true},
		}},
		resources: []func() resource.Resource{
			newEcho(echoResource{typeName: "kubernetes_deployment", schema: kubernetesDeploymentSchema(), modifyPlan: deploymentModifyPlan}),
			newEcho(echoResource{typeName: "kubernetes_persistent_volume_claim", schema: kubernetesPVCSchema()}),
			newEcho(echoResource{typeName: "kubernetes_pod", schema: kubernetesPodSchema()}),
			newEcho(echoResource{typeName: "kubernetes_secret", schema: kubernetesSecretSchema()}),
		},
		dataSources: []func() datasource.DataSource{},
	}
}

// metadataBlock is the provider's namespacedMetadataSchema.
func metadataBlock() rschema.ListNestedBlock {
	return rschema.ListNestedBlock{
		Description: "Standard object metadata (exactly one block).",
		NestedObject: rschema.NestedBlockObject{Attributes: map[string]rschema.Attribute{
			"name": rschema.StringAttribute{Optional: true, Computed: true, PlanModifiers: replaceStringComputed},
			"namespace": rschema.StringAttribute{Optional: true, Computed: true,
				Default: stringdefault.StaticString("default"), PlanModifiers: replaceString},
			"labels":           rschema.MapAttribute{Optional: true, ElementType: types.StringType},
			"annotations":      rschema.MapAttribute{Optional: true, ElementType: types.StringType},
			"uid":              rschema.StringAttribute{Computed: true, PlanModifiers: keepID},
			"resource_version": rschema.StringAttribute{Computed: true, PlanModifiers: keepID},
			"generation": rschema.Int64Attribute{Computed: true,
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}},
		}},
	}
}

// templateMetadataBlock is the metadata of a pod template: no name.
func templateMetadataBlock() rschema.ListNestedBlock {
	return rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{Attributes: map[string]rschema.Attribute{
		"labels":      rschema.MapAttribute{Optional: true, ElementType: types.StringType},
		"annotations": rschema.MapAttribute{Optional: true, ElementType: types.StringType},
	}}}
}

// containerBlock is a pod's container list. podOnly says whether the
// container's fields force a new resource (a bare pod: the real provider
// builds them with containerFields(isUpdatable=false), ForceNew on name,
// image, command and on each env entry's name and value, not on the env
// list itself) or not (a deployment's template, updatable).
func containerBlock(podOnly bool) rschema.ListNestedBlock {
	var str []planmodifier.String
	var list []planmodifier.List
	if podOnly {
		str, list = replaceString, replaceList
	}
	env := rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{Attributes: map[string]rschema.Attribute{
		"name":  rschema.StringAttribute{Required: true, PlanModifiers: str},
		"value": rschema.StringAttribute{Optional: true, PlanModifiers: str},
	}}}
	return rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{
		Attributes: map[string]rschema.Attribute{
			"name":        rschema.StringAttribute{Required: true, PlanModifiers: str},
			"image":       rschema.StringAttribute{Optional: true, PlanModifiers: str},
			"command":     rschema.ListAttribute{Optional: true, ElementType: types.StringType, PlanModifiers: list},
			"working_dir": rschema.StringAttribute{Optional: true, PlanModifiers: str},
		},
		Blocks: map[string]rschema.Block{"env": env},
	}}
}

func podSpecBlock(podOnly bool) rschema.ListNestedBlock {
	return rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{
		Attributes: map[string]rschema.Attribute{
			"hostname":             rschema.StringAttribute{Optional: true},
			"service_account_name": rschema.StringAttribute{Optional: true},
		},
		Blocks: map[string]rschema.Block{
			"container": containerBlock(podOnly),
			"volume": rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{
				Attributes: map[string]rschema.Attribute{"name": rschema.StringAttribute{Required: true}},
				Blocks: map[string]rschema.Block{
					"persistent_volume_claim": rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{
						Attributes: map[string]rschema.Attribute{"claim_name": rschema.StringAttribute{Optional: true}},
					}},
				},
			}},
		},
	}}
}

func kubernetesDeploymentSchema() rschema.Schema {
	return rschema.Schema{
		Description: "A Kubernetes deployment.",
		Attributes: map[string]rschema.Attribute{
			"id": idAttribute(),
			"wait_for_rollout": rschema.BoolAttribute{Optional: true, Computed: true,
				Default: booldefault.StaticBool(true)},
		},
		Blocks: map[string]rschema.Block{
			"metadata": metadataBlock(),
			"spec": rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{
				Attributes: map[string]rschema.Attribute{
					"replicas": rschema.StringAttribute{Optional: true, Computed: true,
						Default: stringdefault.StaticString("1")},
				},
				Blocks: map[string]rschema.Block{
					"selector": rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{
						Attributes: map[string]rschema.Attribute{
							"match_labels": rschema.MapAttribute{Optional: true, ElementType: types.StringType},
						},
					}},
					"template": rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{
						Blocks: map[string]rschema.Block{
							"metadata": templateMetadataBlock(),
							"spec":     podSpecBlock(false),
						},
					}},
				},
			}},
		},
	}
}

func kubernetesPodSchema() rschema.Schema {
	return rschema.Schema{
		Description: "A bare Kubernetes pod.",
		Attributes: map[string]rschema.Attribute{
			"id": idAttribute(),
		},
		Blocks: map[string]rschema.Block{
			"metadata": metadataBlock(),
			"spec":     podSpecBlock(true),
		},
	}
}

func kubernetesPVCSchema() rschema.Schema {
	return rschema.Schema{
		Description: "A Kubernetes persistent volume claim (holds data).",
		Attributes: map[string]rschema.Attribute{
			"id": idAttribute(),
			"wait_until_bound": rschema.BoolAttribute{Optional: true, Computed: true,
				Default: booldefault.StaticBool(true)},
		},
		Blocks: map[string]rschema.Block{
			"metadata": metadataBlock(),
			"spec": rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{
				Attributes: map[string]rschema.Attribute{
					"access_modes": rschema.SetAttribute{Required: true, ElementType: types.StringType,
						PlanModifiers: replaceSet},
					"storage_class_name": rschema.StringAttribute{Optional: true, Computed: true,
						PlanModifiers: replaceStringComputed},
				},
				Blocks: map[string]rschema.Block{
					"resources": rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{
						Attributes: map[string]rschema.Attribute{
							"requests": rschema.MapAttribute{Optional: true, ElementType: types.StringType},
							"limits":   rschema.MapAttribute{Optional: true, ElementType: types.StringType},
						},
					}},
				},
			}},
		},
	}
}

func kubernetesSecretSchema() rschema.Schema {
	return rschema.Schema{
		Description: "A Kubernetes secret; data is sensitive.",
		Attributes: map[string]rschema.Attribute{
			"id":   idAttribute(),
			"data": rschema.MapAttribute{Optional: true, Sensitive: true, ElementType: types.StringType},
			"type": rschema.StringAttribute{Optional: true, Computed: true,
				Default: stringdefault.StaticString("Opaque"), PlanModifiers: replaceString},
		},
		Blocks: map[string]rschema.Block{
			"metadata": metadataBlock(),
		},
	}
}

// keyedReplaceLabel is the one metadata label whose change replaces a
// deployment in this provider.
const keyedReplaceLabel = "app.kubernetes.io/name"

// deploymentModifyPlan adds keyed RequiresReplace paths to an update.
func deploymentModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return // create or destroy
	}
	labels := path.Root("metadata").AtListIndex(0).AtName("labels")
	selector := path.Root("spec").AtListIndex(0).AtName("selector").AtListIndex(0).AtName("match_labels")
	resp.RequiresReplace = append(resp.RequiresReplace, changedKeys(ctx, req, labels, []string{keyedReplaceLabel})...)
	resp.RequiresReplace = append(resp.RequiresReplace, changedKeys(ctx, req, selector, nil)...)
}

// changedKeys returns p.AtMapKey(k) for every key k of the map at p whose
// value differs between the prior state and the plan (added, removed or
// changed, unknown counting as changed), limited to only when only is not
// nil. Keys come back sorted.
func changedKeys(ctx context.Context, req resource.ModifyPlanRequest, p path.Path, only []string) path.Paths {
	var prior, planned types.Map
	if d := req.State.GetAttribute(ctx, p, &prior); d.HasError() {
		return nil
	}
	if d := req.Plan.GetAttribute(ctx, p, &planned); d.HasError() {
		return nil
	}
	if prior.IsUnknown() || planned.IsUnknown() {
		return nil
	}
	pe, qe := prior.Elements(), planned.Elements()
	keys := map[string]bool{}
	for k := range pe {
		keys[k] = true
	}
	for k := range qe {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		if only != nil && !contains(only, k) {
			continue
		}
		a, inA := pe[k]
		b, inB := qe[k]
		if inA != inB || !a.Equal(b) {
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted)
	out := make(path.Paths, 0, len(sorted))
	for _, k := range sorted {
		out = append(out, p.AtMapKey(k))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
