package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// idNamespace seeds the deterministic UUIDs of this provider's objects.
var idNamespace = uuid.MustParse("6f3c1b8e-2c55-4b8e-9a57-3d0c7e1f0a42")

// echoResource is a managed resource without a backend: Create and Update
// store the planned values, filling what is still unknown with values
// derived from the plan; Read keeps the state; Delete forgets it.
type echoResource struct {
	typeName string
	schema   rschema.Schema
	// modifyPlan, when set, runs after the framework's own plan
	// modification (plan modifiers on attributes).
	modifyPlan func(context.Context, resource.ModifyPlanRequest, *resource.ModifyPlanResponse)
	// read, when set, refreshes the state the way the real provider's
	// Read does (e.g. a token re-read from the environment).
	read   func(context.Context, func(string) string, *tfsdk.State) diag.Diagnostics
	getenv func(string) string
}

var (
	_ resource.ResourceWithModifyPlan = (*echoResource)(nil)
	_ resource.ResourceWithConfigure  = (*echoResource)(nil)
)

// newEcho returns a constructor for an echoResource, as the framework wants.
func newEcho(r echoResource) func() resource.Resource {
	return func() resource.Resource {
		c := r
		return &c
	}
}

// Metadata implements resource.Resource.
func (r *echoResource) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = r.typeName
}

// Schema implements resource.Resource.
func (r *echoResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = r.schema
}

// Configure implements resource.ResourceWithConfigure.
func (r *echoResource) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if g, ok := req.ProviderData.(func(string) string); ok {
		r.getenv = g
	}
}

func (r *echoResource) env() func(string) string {
	if r.getenv != nil {
		return r.getenv
	}
	return os.Getenv
}

// ModifyPlan implements resource.ResourceWithModifyPlan.
func (r *echoResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.modifyPlan != nil {
		r.modifyPlan(ctx, req, resp)
	}
}

// recordEnv names the environment variable holding a file to which every
// Create, Update and Delete appends one line ("create docker_container"):
// tests use it to prove that a command applied nothing.
const recordEnv = "CLAIMDRIFT_FAKE_RECORD"

// record appends "op type" to the file named by recordEnv, when set.
func (r *echoResource) record(op string, diags *diag.Diagnostics) {
	name := r.env()(recordEnv)
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = fmt.Fprintf(f, "%s %s\n", op, r.typeName)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		diags.AddError(op+" "+r.typeName, recordEnv+": "+err.Error())
	}
}

// Create implements resource.Resource.
func (r *echoResource) Create(_ context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.record("create", &resp.Diagnostics)
	v, err := fillUnknown(r.typeName, req.Plan.Raw)
	if err != nil {
		resp.Diagnostics.AddError("create "+r.typeName, err.Error())
		return
	}
	resp.State.Raw = v
}

// Read implements resource.Resource.
func (r *echoResource) Read(ctx context.Context, _ resource.ReadRequest, resp *resource.ReadResponse) {
	if r.read != nil {
		resp.Diagnostics.Append(r.read(ctx, r.env(), &resp.State)...)
	}
}

// Update implements resource.Resource.
func (r *echoResource) Update(_ context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.record("update", &resp.Diagnostics)
	v, err := fillUnknown(r.typeName, req.Plan.Raw)
	if err != nil {
		resp.Diagnostics.AddError("update "+r.typeName, err.Error())
		return
	}
	resp.State.Raw = v
}

// Delete implements resource.Resource; the framework removes the state.
func (r *echoResource) Delete(_ context.Context, _ resource.DeleteRequest, resp *resource.DeleteResponse) {
	r.record("delete", &resp.Diagnostics)
}

// fillUnknown replaces every unknown value in a planned object with a known
// one: ids and uids get a UUID derived from the type, the attribute path
// and the whole plan (so the same plan always yields the same ids, and a
// replacement yields new ones); other strings get "", numbers 0, bools
// false, collections and objects null.
func fillUnknown(typeName string, plan tftypes.Value) (tftypes.Value, error) {
	seed := typeName + "\x00" + plan.String()
	return tftypes.Transform(plan, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		typ := v.Type()
		name := lastAttributeName(p)
		derived := uuid.NewSHA1(idNamespace, []byte(seed+"\x00"+p.String()))
		switch {
		case typ.Is(tftypes.String):
			switch name {
			case "id", "uid":
				return tftypes.NewValue(typ, derived.String()), nil
			case "token":
				return tftypes.NewValue(typ, derived.String()), nil
			case "resource_version":
				return tftypes.NewValue(typ, "1"), nil
			case "image_id":
				sum := sha256.Sum256([]byte(seed))
				return tftypes.NewValue(typ, "sha256:"+hex.EncodeToString(sum[:])), nil
			case "init_script":
				return tftypes.NewValue(typ, "#!/bin/sh\n# claimdrift fake agent init script "+derived.String()[:8]+"\n"), nil
			}
			return tftypes.NewValue(typ, ""), nil
		case typ.Is(tftypes.Number):
			n := int64(0)
			if name == "generation" {
				n = 1
			}
			return tftypes.NewValue(typ, new(big.Float).SetInt64(n)), nil
		case typ.Is(tftypes.Bool):
			return tftypes.NewValue(typ, false), nil
		default:
			return tftypes.NewValue(typ, nil), nil
		}
	})
}

func lastAttributeName(p *tftypes.AttributePath) string {
	if p == nil {
		return ""
	}
	steps := p.Steps()
	if len(steps) == 0 {
		return ""
	}
	if n, ok := steps[len(steps)-1].(tftypes.AttributeName); ok {
		return string(n)
	}
	return ""
}

// envDataSource is a data source whose Read starts from the configuration
// and lets read fill in the computed attributes (from the environment, as
// the real coder provider does).
type envDataSource struct {
	typeName string
	schema   dschema.Schema
	read     func(ctx context.Context, getenv func(string) string, config tfsdk.Config, state *tfsdk.State) diag.Diagnostics
	getenv   func(string) string
}

var _ datasource.DataSourceWithConfigure = (*envDataSource)(nil)

// newEnvDataSource returns a constructor for an envDataSource.
func newEnvDataSource(d envDataSource) func() datasource.DataSource {
	return func() datasource.DataSource {
		c := d
		return &c
	}
}

// Metadata implements datasource.DataSource.
func (d *envDataSource) Metadata(_ context.Context, _ datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = d.typeName
}

// Schema implements datasource.DataSource.
func (d *envDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = d.schema
}

// Configure implements datasource.DataSourceWithConfigure.
func (d *envDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, _ *datasource.ConfigureResponse) {
	if g, ok := req.ProviderData.(func(string) string); ok {
		d.getenv = g
	}
}

// Read implements datasource.DataSource.
func (d *envDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	resp.State.Raw = req.Config.Raw.Copy()
	getenv := d.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if d.read != nil {
		resp.Diagnostics.Append(d.read(ctx, getenv, req.Config, &resp.State)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	// Whatever the read left null and computed stays null; unknowns cannot
	// come from a configuration that Terraform chose to read.
	v, err := fillUnknown(d.typeName, resp.State.Raw)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("read %s", d.typeName), err.Error())
		return
	}
	resp.State.Raw = v
}
