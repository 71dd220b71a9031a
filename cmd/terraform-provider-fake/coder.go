package main

// The coder/coder provider, the parts templates use for prebuilt workspaces.
//
// Source notes (github.com/coder/terraform-provider-coder, provider/):
//   - workspace.go: coder_workspace is all computed, read from the
//     environment of the provisioner: CODER_WORKSPACE_NAME, _ID,
//     _TRANSITION, _IS_PREBUILD, _TEMPLATE_ID/_NAME/_VERSION; start_count is
//     1 on "start"; prebuild_count is 1 for an unclaimed prebuild. Newer
//     versions add is_prebuild_claim (CODER_WORKSPACE_IS_PREBUILD_CLAIM).
//   - workspace_owner.go: coder_workspace_owner from CODER_WORKSPACE_OWNER*
//     variables; session_token, oidc_access_token and ssh_private_key are
//     sensitive.
//   - workspace_preset.go: coder_workspace_preset: name (required),
//     parameters (map), prebuilds (a set block, at most one) with instances,
//     expiration_policy (a set block, at most one) { ttl }, scheduling (a
//     list block, at most one) { timezone, schedule (list) { cron,
//     instances } }; id is the name.
//   - agent.go: coder_agent: os, arch, env, dir, startup_script are
//     ForceNew; token is computed, sensitive and ForceNew, re-read on every
//     Read.
//   - provisioner.go: coder_provisioner reports the provisioner's os and
//     arch (runtime.GOOS, runtime.GOARCH).
//   - parameter.go: coder_parameter's value comes from the environment
//     variable CODER_PARAMETER_<hex sha256 of the name>, else the default.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func coderKind() kind {
	return kind{
		name:    "coder",
		address: "registry.terraform.io/coder/coder",
		schema: pschema.Schema{Attributes: map[string]pschema.Attribute{
			"url": pschema.StringAttribute{Optional: true, Description: "The URL to access Coder."},
		}},
		resources: []func() resource.Resource{
			newEcho(echoResource{typeName: "coder_agent", schema: coderAgentSchema(), read: readAgentToken}),
		},
		dataSources: []func() datasource.DataSource{
			newEnvDataSource(envDataSource{typeName: "coder_workspace", schema: coderWorkspaceSchema(), read: readWorkspace}),
			newEnvDataSource(envDataSource{typeName: "coder_workspace_owner", schema: coderWorkspaceOwnerSchema(), read: readWorkspaceOwner}),
			newEnvDataSource(envDataSource{typeName: "coder_workspace_preset", schema: coderWorkspacePresetSchema(), read: readWorkspacePreset}),
			newEnvDataSource(envDataSource{typeName: "coder_parameter", schema: coderParameterSchema(), read: readParameter}),
			newEnvDataSource(envDataSource{typeName: "coder_provisioner", schema: coderProvisionerSchema(), read: readProvisioner}),
		},
	}
}

func computedString(desc string) dschema.StringAttribute {
	return dschema.StringAttribute{Computed: true, Description: desc}
}

func coderWorkspaceSchema() dschema.Schema {
	return dschema.Schema{
		Description: "The active workspace build.",
		Attributes: map[string]dschema.Attribute{
			"id":                computedString("UUID of the workspace."),
			"name":              computedString("Name of the workspace."),
			"owner":             dschema.StringAttribute{Computed: true, DeprecationMessage: "use data.coder_workspace_owner.name"},
			"owner_id":          dschema.StringAttribute{Computed: true, DeprecationMessage: "use data.coder_workspace_owner.id"},
			"access_url":        computedString("The access URL of the Coder deployment."),
			"access_port":       dschema.Int64Attribute{Computed: true},
			"transition":        computedString("Either start or stop."),
			"start_count":       dschema.Int64Attribute{Computed: true},
			"prebuild_count":    dschema.Int64Attribute{Computed: true},
			"is_prebuild":       dschema.BoolAttribute{Computed: true},
			"is_prebuild_claim": dschema.BoolAttribute{Computed: true},
			"template_id":       computedString("ID of the workspace's template."),
			"template_name":     computedString("Name of the workspace's template."),
			"template_version":  computedString("Version of the workspace's template."),
		},
	}
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// setAll sets top-level attributes of a state, collecting diagnostics.
func setAll(ctx context.Context, st *tfsdk.State, values map[string]any) diag.Diagnostics {
	var diags diag.Diagnostics
	for name, v := range values {
		diags.Append(st.SetAttribute(ctx, path.Root(name), v)...)
	}
	return diags
}

// stableID returns the id in the environment variable key, else a UUID
// derived from what it identifies.
func stableID(getenv func(string) string, key, of string) string {
	return envOr(getenv, key, uuid.NewSHA1(idNamespace, []byte(of)).String())
}

func readWorkspace(ctx context.Context, getenv func(string) string, _ tfsdk.Config, st *tfsdk.State) diag.Diagnostics {
	name := envOr(getenv, "CODER_WORKSPACE_NAME", "default")
	owner := envOr(getenv, "CODER_WORKSPACE_OWNER", "default")
	transition := envOr(getenv, "CODER_WORKSPACE_TRANSITION", "start")
	startCount := int64(0)
	if transition == "start" {
		startCount = 1
	}
	isPrebuild := getenv("CODER_WORKSPACE_IS_PREBUILD") == "true"
	prebuildCount := int64(0)
	if isPrebuild {
		prebuildCount = 1
	}
	return setAll(ctx, st, map[string]any{
		"id":                stableID(getenv, "CODER_WORKSPACE_ID", "workspace/"+owner+"/"+name),
		"name":              name,
		"owner":             owner,
		"owner_id":          stableID(getenv, "CODER_WORKSPACE_OWNER_ID", "user/"+owner),
		"access_url":        envOr(getenv, "CODER_AGENT_URL", "https://coder.example.com"),
		"access_port":       int64(443),
		"transition":        transition,
		"start_count":       startCount,
		"prebuild_count":    prebuildCount,
		"is_prebuild":       isPrebuild,
		"is_prebuild_claim": getenv("CODER_WORKSPACE_IS_PREBUILD_CLAIM") == "true",
		"template_id":       getenv("CODER_WORKSPACE_TEMPLATE_ID"),
		"template_name":     getenv("CODER_WORKSPACE_TEMPLATE_NAME"),
		"template_version":  getenv("CODER_WORKSPACE_TEMPLATE_VERSION"),
	})
}

func coderWorkspaceOwnerSchema() dschema.Schema {
	return dschema.Schema{
		Description: "The owner of the workspace being built.",
		Attributes: map[string]dschema.Attribute{
			"id":                computedString("UUID of the owner."),
			"name":              computedString("Username of the owner."),
			"full_name":         computedString("Display name of the owner."),
			"email":             computedString("Email address of the owner."),
			"ssh_public_key":    computedString("The owner's generated SSH public key."),
			"ssh_private_key":   dschema.StringAttribute{Computed: true, Sensitive: true},
			"groups":            dschema.ListAttribute{Computed: true, ElementType: types.StringType},
			"session_token":     dschema.StringAttribute{Computed: true, Sensitive: true},
			"oidc_access_token": dschema.StringAttribute{Computed: true, Sensitive: true},
			"login_type":        computedString("How the owner logs in."),
		},
	}
}

func readWorkspaceOwner(ctx context.Context, getenv func(string) string, _ tfsdk.Config, st *tfsdk.State) diag.Diagnostics {
	name := envOr(getenv, "CODER_WORKSPACE_OWNER", "default")
	var diags diag.Diagnostics
	groups := []string{}
	if raw := getenv("CODER_WORKSPACE_OWNER_GROUPS"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &groups); err != nil {
			diags.AddError("read coder_workspace_owner", "CODER_WORKSPACE_OWNER_GROUPS: "+err.Error())
			return diags
		}
	}
	gl, d := types.ListValueFrom(ctx, types.StringType, groups)
	diags.Append(d...)
	diags.Append(setAll(ctx, st, map[string]any{
		"id":                stableID(getenv, "CODER_WORKSPACE_OWNER_ID", "user/"+name),
		"name":              name,
		"full_name":         getenv("CODER_WORKSPACE_OWNER_NAME"),
		"email":             envOr(getenv, "CODER_WORKSPACE_OWNER_EMAIL", name+"@example.com"),
		"ssh_public_key":    getenv("CODER_WORKSPACE_OWNER_SSH_PUBLIC_KEY"),
		"ssh_private_key":   getenv("CODER_WORKSPACE_OWNER_SSH_PRIVATE_KEY"),
		"groups":            gl,
		"session_token":     getenv("CODER_WORKSPACE_OWNER_SESSION_TOKEN"),
		"oidc_access_token": getenv("CODER_WORKSPACE_OWNER_OIDC_ACCESS_TOKEN"),
		"login_type":        envOr(getenv, "CODER_WORKSPACE_OWNER_LOGIN_TYPE", "password"),
	})...)
	return diags
}

func coderWorkspacePresetSchema() dschema.Schema {
	return dschema.Schema{
		Description: "A named set of parameter values, with an optional pool of prebuilt workspaces.",
		Attributes: map[string]dschema.Attribute{
			"id":          computedString("The preset's id (its name)."),
			"name":        dschema.StringAttribute{Required: true},
			"description": dschema.StringAttribute{Optional: true},
			"icon":        dschema.StringAttribute{Optional: true},
			"default":     dschema.BoolAttribute{Optional: true, Computed: true},
			"parameters":  dschema.MapAttribute{Optional: true, ElementType: types.StringType},
		},
		Blocks: map[string]dschema.Block{
			"prebuilds": dschema.SetNestedBlock{
				Description: "The pool of prebuilt workspaces kept for this preset (at most one block).",
				NestedObject: dschema.NestedBlockObject{
					Attributes: map[string]dschema.Attribute{
						"instances": dschema.Int64Attribute{Required: true},
					},
					Blocks: map[string]dschema.Block{
						"expiration_policy": dschema.SetNestedBlock{
							NestedObject: dschema.NestedBlockObject{Attributes: map[string]dschema.Attribute{
								"ttl": dschema.Int64Attribute{Required: true, Description: "Seconds after which an unclaimed prebuild expires."},
							}},
						},
						"scheduling": dschema.ListNestedBlock{
							NestedObject: dschema.NestedBlockObject{
								Attributes: map[string]dschema.Attribute{
									"timezone": dschema.StringAttribute{Required: true},
								},
								Blocks: map[string]dschema.Block{
									"schedule": dschema.ListNestedBlock{
										NestedObject: dschema.NestedBlockObject{Attributes: map[string]dschema.Attribute{
											"cron":      dschema.StringAttribute{Required: true},
											"instances": dschema.Int64Attribute{Required: true},
										}},
									},
								},
							},
						},
					},
				},
			},
		},
	}
}

func readWorkspacePreset(ctx context.Context, _ func(string) string, cfg tfsdk.Config, st *tfsdk.State) diag.Diagnostics {
	var name types.String
	var def types.Bool
	diags := cfg.GetAttribute(ctx, path.Root("name"), &name)
	diags.Append(cfg.GetAttribute(ctx, path.Root("default"), &def)...)
	if diags.HasError() {
		return diags
	}
	values := map[string]any{"id": name}
	if def.IsNull() {
		values["default"] = false
	}
	diags.Append(setAll(ctx, st, values)...)
	return diags
}

func coderParameterSchema() dschema.Schema {
	return dschema.Schema{
		Description: "A parameter the workspace owner chooses (minimal: no options, no validation).",
		Attributes: map[string]dschema.Attribute{
			"id":           computedString("The parameter's id."),
			"name":         dschema.StringAttribute{Required: true},
			"display_name": dschema.StringAttribute{Optional: true},
			"description":  dschema.StringAttribute{Optional: true},
			"type":         dschema.StringAttribute{Optional: true, Computed: true},
			"mutable":      dschema.BoolAttribute{Optional: true},
			"default":      dschema.StringAttribute{Optional: true},
			"icon":         dschema.StringAttribute{Optional: true},
			"order":        dschema.Int64Attribute{Optional: true},
			"value":        computedString("The chosen value."),
		},
	}
}

// parameterEnv is the environment variable the real provider reads a
// parameter's value from.
func parameterEnv(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "CODER_PARAMETER_" + hex.EncodeToString(sum[:])
}

func readParameter(ctx context.Context, getenv func(string) string, cfg tfsdk.Config, st *tfsdk.State) diag.Diagnostics {
	var name, typ, def types.String
	diags := cfg.GetAttribute(ctx, path.Root("name"), &name)
	diags.Append(cfg.GetAttribute(ctx, path.Root("type"), &typ)...)
	diags.Append(cfg.GetAttribute(ctx, path.Root("default"), &def)...)
	if diags.HasError() {
		return diags
	}
	values := map[string]any{
		"id":    uuid.NewSHA1(idNamespace, []byte("parameter/"+name.ValueString())).String(),
		"value": envOr(getenv, parameterEnv(name.ValueString()), def.ValueString()),
	}
	if typ.IsNull() {
		values["type"] = "string"
	}
	diags.Append(setAll(ctx, st, values)...)
	return diags
}

func coderAgentSchema() rschema.Schema {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	return rschema.Schema{
		Description: "A Coder agent (minimal).",
		Attributes: map[string]rschema.Attribute{
			"id": rschema.StringAttribute{Computed: true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"os":             rschema.StringAttribute{Required: true, PlanModifiers: replace},
			"arch":           rschema.StringAttribute{Required: true, PlanModifiers: replace},
			"dir":            rschema.StringAttribute{Optional: true, PlanModifiers: replace},
			"startup_script": rschema.StringAttribute{Optional: true, PlanModifiers: replace},
			"env": rschema.MapAttribute{Optional: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()}},
			"token":       rschema.StringAttribute{Computed: true, Sensitive: true},
			"init_script": rschema.StringAttribute{Computed: true},
		},
	}
}

// readAgentToken mimics the real provider re-reading the agent token on
// every refresh: when CODER_AGENT_TOKEN is set, it becomes the token.
func readAgentToken(ctx context.Context, getenv func(string) string, st *tfsdk.State) diag.Diagnostics {
	tok := getenv("CODER_AGENT_TOKEN")
	if tok == "" || st.Raw.IsNull() {
		return nil
	}
	return st.SetAttribute(ctx, path.Root("token"), tok)
}

func coderProvisionerSchema() dschema.Schema {
	return dschema.Schema{
		Description: "The machine running the provisioner.",
		Attributes: map[string]dschema.Attribute{
			"id":   computedString("The provisioner's id."),
			"os":   computedString("The provisioner's operating system."),
			"arch": computedString("The provisioner's architecture."),
		},
	}
}

// readProvisioner reports linux/amd64 whatever the machine, so that
// generated plans do not depend on where they were generated.
func readProvisioner(ctx context.Context, _ func(string) string, _ tfsdk.Config, st *tfsdk.State) diag.Diagnostics {
	return setAll(ctx, st, map[string]any{
		"id":   uuid.NewSHA1(idNamespace, []byte("provisioner")).String(),
		"os":   "linux",
		"arch": "amd64",
	})
}
