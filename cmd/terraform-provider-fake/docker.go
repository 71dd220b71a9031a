package main

// The kreuzwerker/docker provider, the parts workspace templates use.
//
// Source notes (github.com/kreuzwerker/terraform-provider-docker,
// internal/provider/):
//   - resource_docker_container.go: name, image, hostname, command,
//     entrypoint, env (a set of strings), labels (a set of {label, value}
//     blocks), volumes (a set of blocks), ports, user, working_dir… are all
//     ForceNew; restart, memory, must_run, start are updatable. The SDK
//     reports a ForceNew set as the path of the whole set ("env",
//     "labels"), since set elements cannot be addressed.
//   - resource_docker_volume.go: name, driver, driver_opts and labels are
//     ForceNew; the volume has no update at all.
//   - resource_docker_image.go: name is required and ForceNew (so are
//     triggers and pull_triggers); keep_locally is updatable.
// RequiresReplace here stands for ForceNew there.

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func dockerKind() kind {
	return kind{
		name:    "docker",
		address: "registry.terraform.io/kreuzwerker/docker",
		schema: pschema.Schema{Attributes: map[string]pschema.Attribute{
			"host": pschema.StringAttribute{Optional: true, Description: "The Docker daemon address."},
		}},
		resources: []func() resource.Resource{
			newEcho(echoResource{typeName: "docker_container", schema: dockerContainerSchema()}),
			newEcho(echoResource{typeName: "docker_volume", schema: dockerVolumeSchema()}),
			newEcho(echoResource{typeName: "docker_image", schema: dockerImageSchema()}),
		},
		dataSources: []func() datasource.DataSource{},
	}
}

var (
	replaceString = []planmodifier.String{stringplanmodifier.RequiresReplace()}
	replaceBool   = []planmodifier.Bool{boolplanmodifier.RequiresReplace()}
	replaceSet    = []planmodifier.Set{setplanmodifier.RequiresReplace()}
	replaceList   = []planmodifier.List{listplanmodifier.RequiresReplace()}
	keepID        = []planmodifier.String{stringplanmodifier.UseStateForUnknown()}

	// The *Computed variants are for Optional+Computed attributes: keep the
	// prior value when the configuration leaves them out, as the SDKv2
	// providers do (the framework would otherwise plan them unknown on every
	// change, and an unknown ForceNew value replaces the resource).
	replaceStringComputed = []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplace()}
	replaceSetComputed    = []planmodifier.Set{setplanmodifier.UseStateForUnknown(), setplanmodifier.RequiresReplace()}
	replaceListComputed   = []planmodifier.List{listplanmodifier.UseStateForUnknown(), listplanmodifier.RequiresReplace()}
)

// idAttribute is the computed id every resource has, kept across updates.
func idAttribute() rschema.StringAttribute {
	return rschema.StringAttribute{Computed: true, PlanModifiers: keepID}
}

// dockerLabelsBlock is the provider's labelSchema: a set of {label, value}.
func dockerLabelsBlock() rschema.SetNestedBlock {
	return rschema.SetNestedBlock{
		Description:   "User-defined key/value metadata.",
		PlanModifiers: replaceSet,
		NestedObject: rschema.NestedBlockObject{Attributes: map[string]rschema.Attribute{
			"label": rschema.StringAttribute{Required: true},
			"value": rschema.StringAttribute{Required: true},
		}},
	}
}

func dockerContainerSchema() rschema.Schema {
	return rschema.Schema{
		Description: "A Docker container.",
		Attributes: map[string]rschema.Attribute{
			"id":       idAttribute(),
			"name":     rschema.StringAttribute{Required: true, PlanModifiers: replaceString},
			"image":    rschema.StringAttribute{Required: true, PlanModifiers: replaceString},
			"hostname": rschema.StringAttribute{Optional: true, Computed: true, PlanModifiers: replaceStringComputed},
			"user":     rschema.StringAttribute{Optional: true, PlanModifiers: replaceString},
			"command": rschema.ListAttribute{Optional: true, Computed: true, ElementType: types.StringType,
				PlanModifiers: replaceListComputed},
			"entrypoint": rschema.ListAttribute{Optional: true, Computed: true, ElementType: types.StringType,
				PlanModifiers: replaceListComputed},
			"env": rschema.SetAttribute{Optional: true, Computed: true, ElementType: types.StringType,
				PlanModifiers: replaceSetComputed},
			"runtime":    rschema.StringAttribute{Optional: true, Computed: true, PlanModifiers: replaceStringComputed},
			"privileged": rschema.BoolAttribute{Optional: true, PlanModifiers: replaceBool},
			// Updatable in place.
			"restart":  rschema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("no")},
			"must_run": rschema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true)},
			"memory":   rschema.Int64Attribute{Optional: true},
			"network_mode": rschema.StringAttribute{Optional: true, Computed: true,
				Default: stringdefault.StaticString("bridge"), PlanModifiers: replaceString},
		},
		Blocks: map[string]rschema.Block{
			"labels": dockerLabelsBlock(),
			"volumes": rschema.SetNestedBlock{
				Description:   "Volumes mounted in the container.",
				PlanModifiers: replaceSet,
				NestedObject: rschema.NestedBlockObject{Attributes: map[string]rschema.Attribute{
					"container_path": rschema.StringAttribute{Optional: true},
					"host_path":      rschema.StringAttribute{Optional: true},
					"volume_name":    rschema.StringAttribute{Optional: true},
					"from_container": rschema.StringAttribute{Optional: true},
					"read_only":      rschema.BoolAttribute{Optional: true},
				}},
			},
			"host": rschema.SetNestedBlock{
				Description:   "Extra /etc/hosts entries.",
				PlanModifiers: replaceSet,
				NestedObject: rschema.NestedBlockObject{Attributes: map[string]rschema.Attribute{
					"host": rschema.StringAttribute{Required: true},
					"ip":   rschema.StringAttribute{Required: true},
				}},
			},
		},
	}
}

func dockerVolumeSchema() rschema.Schema {
	return rschema.Schema{
		Description: "A Docker volume (no update: every change replaces it).",
		Attributes: map[string]rschema.Attribute{
			"id":         idAttribute(),
			"name":       rschema.StringAttribute{Optional: true, Computed: true, PlanModifiers: replaceStringComputed},
			"driver":     rschema.StringAttribute{Optional: true, Computed: true, PlanModifiers: replaceStringComputed},
			"mountpoint": rschema.StringAttribute{Computed: true, PlanModifiers: keepID},
		},
		Blocks: map[string]rschema.Block{
			"labels": dockerLabelsBlock(),
		},
	}
}

func dockerImageSchema() rschema.Schema {
	return rschema.Schema{
		Description: "A Docker image pulled to the host.",
		Attributes: map[string]rschema.Attribute{
			"id":           idAttribute(),
			"name":         rschema.StringAttribute{Required: true, PlanModifiers: replaceString},
			"keep_locally": rschema.BoolAttribute{Optional: true},
			"image_id":     rschema.StringAttribute{Computed: true, PlanModifiers: keepID},
		},
	}
}
