package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// kindEnv names the environment variable that overrides the provider kind
// derived from the executable name.
const kindEnv = "CLAIMDRIFT_FAKE_PROVIDER"

// errUnknownKind is returned when neither the executable name nor kindEnv
// names a provider this binary can serve.
var errUnknownKind = errors.New("unknown provider kind")

// kind describes one provider this binary can pretend to be.
type kind struct {
	// name is the provider's type name, the prefix of its resource types.
	name string
	// address is the provider's registry address.
	address string
	// schema is the provider block's schema.
	schema pschema.Schema
	// resources and dataSources construct the provider's types.
	resources   []func() resource.Resource
	dataSources []func() datasource.DataSource
}

// kinds lists every provider this binary serves, by type name.
func kinds() map[string]kind {
	return map[string]kind{
		"coder":      coderKind(),
		"docker":     dockerKind(),
		"kubernetes": kubernetesKind(),
	}
}

// kindName picks the provider kind: the environment variable wins, else the
// executable name terraform-provider-<type>[_vX.Y.Z][.exe].
func kindName(exe string, getenv func(string) string) string {
	if v := strings.TrimSpace(getenv(kindEnv)); v != "" {
		return v
	}
	base := strings.TrimSuffix(filepath.Base(exe), ".exe")
	base = strings.TrimPrefix(base, "terraform-provider-")
	if i := strings.Index(base, "_"); i >= 0 {
		base = base[:i]
	}
	return base
}

// run serves the provider kind chosen by exe and getenv over the plugin
// protocol until Terraform stops it.
func run(ctx context.Context, exe string, getenv func(string) string) error {
	name := kindName(exe, getenv)
	k, ok := kinds()[name]
	if !ok {
		return fmt.Errorf("%w %q (set %s to coder, docker or kubernetes)", errUnknownKind, name, kindEnv)
	}
	// Protocol 5, like the real SDKv2-based providers this one imitates.
	return providerserver.Serve(ctx, func() provider.Provider { return &fakeProvider{kind: k, getenv: getenv} },
		providerserver.ServeOpts{Address: k.address, ProtocolVersion: 5})
}

// fakeProvider is a terraform-plugin-framework provider serving one kind.
type fakeProvider struct {
	kind   kind
	getenv func(string) string
}

// Metadata implements provider.Provider.
func (p *fakeProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = p.kind.name
	resp.Version = "0.0.0-claimdrift"
}

// Schema implements provider.Provider.
func (p *fakeProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = p.kind.schema
}

// Configure implements provider.Provider. There is no backend to connect
// to; the configuration is ignored, except that coder's url must be an
// absolute http(s) URL, as the real provider requires (tests use a bad one
// to see a provider error).
func (p *fakeProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	if p.kind.name == "coder" {
		var u types.String
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("url"), &u)...)
		if v := u.ValueString(); !u.IsNull() && !u.IsUnknown() && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			resp.Diagnostics.AddAttributeError(path.Root("url"), "invalid coder url",
				fmt.Sprintf("url %q is not an absolute http(s) URL", v))
		}
		if resp.Diagnostics.HasError() {
			return
		}
	}
	resp.DataSourceData = p.getenv
	resp.ResourceData = p.getenv
}

// Resources implements provider.Provider.
func (p *fakeProvider) Resources(context.Context) []func() resource.Resource {
	return p.kind.resources
}

// DataSources implements provider.Provider.
func (p *fakeProvider) DataSources(context.Context) []func() datasource.DataSource {
	return p.kind.dataSources
}
