package main

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestKindName(t *testing.T) {
	tests := []struct {
		name, exe, env, want string
	}{
		{name: "coder by executable", exe: "/x/coder/terraform-provider-coder", want: "coder"},
		{name: "versioned executable", exe: "terraform-provider-docker_v3.0.2", want: "docker"},
		{name: "windows executable", exe: `C:\p\terraform-provider-kubernetes.exe`, want: "kubernetes"},
		{name: "env wins", exe: "terraform-provider-docker", env: "kubernetes", want: "kubernetes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == kindEnv {
					return tt.env
				}
				return ""
			}
			exe := strings.ReplaceAll(tt.exe, `\`, "/")
			if got := kindName(exe, getenv); got != tt.want {
				t.Errorf("kindName(%q) = %q, want %q", tt.exe, got, tt.want)
			}
		})
	}
}

func TestRunUnknownKind(t *testing.T) {
	err := run(context.Background(), "terraform-provider-aws", func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), `unknown provider kind "aws"`) {
		t.Fatalf("run = %v, want unknown provider kind", err)
	}
}

func TestFillUnknownIsDeterministic(t *testing.T) {
	typ := tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"id":   tftypes.String,
		"name": tftypes.String,
		"tags": tftypes.List{ElementType: tftypes.String},
		"size": tftypes.Number,
	}}
	plan := func(name string) tftypes.Value {
		return tftypes.NewValue(typ, map[string]tftypes.Value{
			"id":   tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
			"name": tftypes.NewValue(tftypes.String, name),
			"tags": tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, tftypes.UnknownValue),
			"size": tftypes.NewValue(tftypes.Number, tftypes.UnknownValue),
		})
	}
	id := func(v tftypes.Value) string {
		var m map[string]tftypes.Value
		if err := v.As(&m); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := m["id"].As(&s); err != nil {
			t.Fatal(err)
		}
		if !m["tags"].IsNull() {
			t.Errorf("tags = %v, want null", m["tags"])
		}
		var n big.Float
		if err := m["size"].As(&n); err != nil || n.Sign() != 0 {
			t.Errorf("size = %v (%v), want 0", m["size"], err)
		}
		return s
	}
	a1, err := fillUnknown("x_thing", plan("a"))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := fillUnknown("x_thing", plan("a"))
	b, _ := fillUnknown("x_thing", plan("b"))
	if !a1.IsFullyKnown() {
		t.Fatalf("fillUnknown left unknowns: %v", a1)
	}
	if id(a1) == "" || id(a1) != id(a2) {
		t.Errorf("ids of the same plan: %q and %q, want equal and not empty", id(a1), id(a2))
	}
	if id(a1) == id(b) {
		t.Errorf("ids of different plans are both %q", id(a1))
	}
}

// server returns the protocol 5 server of one provider kind, configured,
// reading the given environment.
func server(t *testing.T, name string, env ...string) tfprotov5.ProviderServer {
	t.Helper()
	k, ok := kinds()[name]
	if !ok {
		t.Fatalf("no kind %q", name)
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	getenv := func(k string) string { return vars[k] }
	s := providerserver.NewProtocol5(&fakeProvider{kind: k, getenv: getenv})()
	ctx := context.Background()
	sch, err := s.GetProviderSchema(ctx, &tfprotov5.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pt := sch.Provider.ValueType().(tftypes.Object)
	cfg, err := tfprotov5.NewDynamicValue(pt, obj(pt, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.ConfigureProvider(ctx, &tfprotov5.ConfigureProviderRequest{Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Fatalf("configure: %s: %s", d.Summary, d.Detail)
	}
	return s
}

func TestCoderWorkspaceReadsTheEnvironment(t *testing.T) {
	tests := []struct {
		name           string
		env            []string
		wantName       string
		wantPrebuild   bool
		wantClaim      bool
		wantStartCount int64
	}{
		{name: "prebuild", env: []string{"CODER_WORKSPACE_NAME=ws-prebuilds-1", "CODER_WORKSPACE_IS_PREBUILD=true"},
			wantName: "ws-prebuilds-1", wantPrebuild: true, wantStartCount: 1},
		{name: "claim", env: []string{"CODER_WORKSPACE_NAME=ws-alice-1", "CODER_WORKSPACE_IS_PREBUILD_CLAIM=true"},
			wantName: "ws-alice-1", wantClaim: true, wantStartCount: 1},
		{name: "stop", env: []string{"CODER_WORKSPACE_TRANSITION=stop"}, wantName: "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := server(t, "coder", tt.env...)
			ctx := context.Background()
			sch, err := s.GetProviderSchema(ctx, &tfprotov5.GetProviderSchemaRequest{})
			if err != nil {
				t.Fatal(err)
			}
			typ := sch.DataSourceSchemas["coder_workspace"].ValueType().(tftypes.Object)
			cfg, err := tfprotov5.NewDynamicValue(typ, obj(typ, nil))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.ReadDataSource(ctx, &tfprotov5.ReadDataSourceRequest{TypeName: "coder_workspace", Config: &cfg})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range resp.Diagnostics {
				t.Fatalf("read: %s: %s", d.Summary, d.Detail)
			}
			v, err := resp.State.Unmarshal(typ)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]tftypes.Value
			if err := v.As(&m); err != nil {
				t.Fatal(err)
			}
			var name string
			var prebuild, claim bool
			var start big.Float
			for _, err := range []error{m["name"].As(&name), m["is_prebuild"].As(&prebuild),
				m["is_prebuild_claim"].As(&claim), m["start_count"].As(&start)} {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n, _ := start.Int64(); name != tt.wantName || prebuild != tt.wantPrebuild || claim != tt.wantClaim || n != tt.wantStartCount {
				t.Errorf("name=%q is_prebuild=%v is_prebuild_claim=%v start_count=%d, want %q %v %v %d",
					name, prebuild, claim, n, tt.wantName, tt.wantPrebuild, tt.wantClaim, tt.wantStartCount)
			}
		})
	}
}

// resourceType returns a resource type's object type from the provider's
// own schema response.
func resourceType(t *testing.T, s tfprotov5.ProviderServer, typeName string) tftypes.Object {
	t.Helper()
	resp, err := s.GetProviderSchema(context.Background(), &tfprotov5.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Fatalf("schema: %s: %s", d.Summary, d.Detail)
	}
	sch, ok := resp.ResourceSchemas[typeName]
	if !ok {
		t.Fatalf("no resource type %s", typeName)
	}
	return sch.ValueType().(tftypes.Object)
}

// obj builds an object of typ: the given attributes, and for the others an
// empty collection (blocks, as Terraform sends them) or null.
func obj(typ tftypes.Object, set map[string]tftypes.Value) tftypes.Value {
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		if v, ok := set[name]; ok {
			vals[name] = v
			continue
		}
		switch at := at.(type) {
		case tftypes.List:
			if _, isObj := at.ElementType.(tftypes.Object); isObj {
				vals[name] = tftypes.NewValue(at, []tftypes.Value{})
				continue
			}
		case tftypes.Set:
			if _, isObj := at.ElementType.(tftypes.Object); isObj {
				vals[name] = tftypes.NewValue(at, []tftypes.Value{})
				continue
			}
		}
		vals[name] = tftypes.NewValue(at, nil)
	}
	return tftypes.NewValue(typ, vals)
}

// block builds a list or set block of one object of the element type.
func block(typ tftypes.Object, attr string, set map[string]tftypes.Value) tftypes.Value {
	ct := typ.AttributeTypes[attr]
	var et tftypes.Type
	switch c := ct.(type) {
	case tftypes.List:
		et = c.ElementType
	case tftypes.Set:
		et = c.ElementType
	}
	return tftypes.NewValue(ct, []tftypes.Value{obj(et.(tftypes.Object), set)})
}

func elem(typ tftypes.Object, attr string) tftypes.Object {
	switch c := typ.AttributeTypes[attr].(type) {
	case tftypes.List:
		return c.ElementType.(tftypes.Object)
	case tftypes.Set:
		return c.ElementType.(tftypes.Object)
	}
	panic("not a block: " + attr)
}

func str(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

func strMap(m map[string]string) tftypes.Value {
	vals := map[string]tftypes.Value{}
	for k, v := range m {
		vals[k] = str(v)
	}
	return tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, vals)
}

func strSet(ss ...string) tftypes.Value {
	vals := make([]tftypes.Value, len(ss))
	for i, s := range ss {
		vals[i] = str(s)
	}
	return tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, vals)
}

// render writes an attribute path in Terraform's traversal syntax.
func render(p *tftypes.AttributePath) string {
	var b strings.Builder
	for i, st := range p.Steps() {
		switch st := st.(type) {
		case tftypes.AttributeName:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(st))
		case tftypes.ElementKeyInt:
			fmt.Fprintf(&b, "[%d]", int64(st))
		case tftypes.ElementKeyString:
			fmt.Fprintf(&b, "[%q]", string(st))
		default:
			fmt.Fprintf(&b, "[%v]", st)
		}
	}
	return b.String()
}

// planReplace plans an update from prior to config (the proposed new state
// is the config with the prior computed values, as Terraform sends it) and
// returns the rendered RequiresReplace paths, sorted.
func planReplace(t *testing.T, s tfprotov5.ProviderServer, typeName string, typ tftypes.Object, prior, config, proposed tftypes.Value) []string {
	t.Helper()
	dv := func(v tftypes.Value) *tfprotov5.DynamicValue {
		d, err := tfprotov5.NewDynamicValue(typ, v)
		if err != nil {
			t.Fatal(err)
		}
		return &d
	}
	resp, err := s.PlanResourceChange(context.Background(), &tfprotov5.PlanResourceChangeRequest{
		TypeName:         typeName,
		PriorState:       dv(prior),
		ProposedNewState: dv(proposed),
		Config:           dv(config),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		if d.Severity == tfprotov5.DiagnosticSeverityError {
			t.Fatalf("plan: %s: %s", d.Summary, d.Detail)
		}
	}
	got := []string{}
	for _, p := range resp.RequiresReplace {
		got = append(got, render(p))
	}
	sort.Strings(got)
	return got
}

func TestKubernetesDeploymentReplacePaths(t *testing.T) {
	s := server(t, "kubernetes")
	typ := resourceType(t, s, "kubernetes_deployment")
	spec := elem(typ, "spec")
	type inputs struct {
		name     string
		labels   map[string]string
		selector map[string]string
	}
	// build returns the state (computed values known) or the config
	// (computed values null) of a deployment.
	build := func(in inputs, state bool) tftypes.Value {
		m := map[string]tftypes.Value{
			"name":      str(in.name),
			"namespace": str("default"),
			"labels":    strMap(in.labels),
		}
		top := map[string]tftypes.Value{}
		if state {
			m["uid"] = str("uid-1")
			m["resource_version"] = str("1")
			m["generation"] = tftypes.NewValue(tftypes.Number, big.NewFloat(1))
			top["id"] = str("default/deploy")
			top["wait_for_rollout"] = tftypes.NewValue(tftypes.Bool, true)
		}
		top["metadata"] = block(typ, "metadata", m)
		top["spec"] = block(typ, "spec", map[string]tftypes.Value{
			"replicas": str("1"),
			"selector": block(spec, "selector", map[string]tftypes.Value{"match_labels": strMap(in.selector)}),
		})
		return obj(typ, top)
	}
	base := inputs{
		name:     "coder-prebuilds-ws",
		labels:   map[string]string{"app.kubernetes.io/name": "coder-prebuilds-ws", "team": "a"},
		selector: map[string]string{"app.kubernetes.io/instance": "coder-prebuilds-ws"},
	}
	tests := []struct {
		name   string
		change func(in inputs) inputs
		want   []string
	}{
		{name: "no change", change: func(in inputs) inputs { return in }, want: []string{}},
		{name: "metadata name", change: func(in inputs) inputs { in.name = "coder-alice-ws"; return in },
			want: []string{"metadata[0].name"}},
		{name: "keyed label", change: func(in inputs) inputs {
			in.labels = map[string]string{"app.kubernetes.io/name": "coder-alice-ws", "team": "a"}
			return in
		}, want: []string{`metadata[0].labels["app.kubernetes.io/name"]`}},
		{name: "other label updates in place", change: func(in inputs) inputs {
			in.labels = map[string]string{"app.kubernetes.io/name": "coder-prebuilds-ws", "team": "b"}
			return in
		}, want: []string{}},
		{name: "selector key changed and added", change: func(in inputs) inputs {
			in.selector = map[string]string{"app.kubernetes.io/instance": "coder-alice-ws", "tier": "dev"}
			return in
		}, want: []string{
			`spec[0].selector[0].match_labels["app.kubernetes.io/instance"]`,
			`spec[0].selector[0].match_labels["tier"]`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := tt.change(base)
			got := planReplace(t, s, "kubernetes_deployment", typ,
				build(base, true), build(next, false), build(next, true))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("RequiresReplace = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDockerContainerReplacePaths(t *testing.T) {
	s := server(t, "docker")
	typ := resourceType(t, s, "docker_container")
	type inputs struct {
		name, restart string
		env           []string
	}
	build := func(in inputs, state bool) tftypes.Value {
		top := map[string]tftypes.Value{
			"name":    str(in.name),
			"image":   str("ubuntu"),
			"restart": str(in.restart),
			"env":     strSet(in.env...),
			"labels": block(typ, "labels", map[string]tftypes.Value{
				"label": str("coder.owner"), "value": str("prebuilds"),
			}),
		}
		if state {
			top["id"] = str("c0ffee")
			top["hostname"] = str("c0ffee")
			top["must_run"] = tftypes.NewValue(tftypes.Bool, true)
			top["network_mode"] = str("bridge")
		}
		return obj(typ, top)
	}
	base := inputs{name: "coder-prebuilds", restart: "no", env: []string{"A=1"}}
	tests := []struct {
		name string
		next inputs
		want []string
	}{
		{name: "restart updates in place", next: inputs{name: "coder-prebuilds", restart: "always", env: []string{"A=1"}}, want: []string{}},
		{name: "env set", next: inputs{name: "coder-prebuilds", restart: "no", env: []string{"A=2"}}, want: []string{"env"}},
		{name: "name and env", next: inputs{name: "coder-alice", restart: "no", env: []string{"A=1", "B=2"}}, want: []string{"env", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planReplace(t, s, "docker_container", typ, build(base, true), build(tt.next, false), build(tt.next, true))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("RequiresReplace = %q, want %q", got, tt.want)
			}
		})
	}
}

// Every kind's schema must be valid for the framework (a bad schema only
// shows up when Terraform asks for it).
func TestSchemasAreValid(t *testing.T) {
	for name, k := range kinds() {
		t.Run(name, func(t *testing.T) {
			s := providerserver.NewProtocol5(&fakeProvider{kind: k, getenv: func(string) string { return "" }})()
			resp, err := s.GetProviderSchema(context.Background(), &tfprotov5.GetProviderSchemaRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range resp.Diagnostics {
				t.Errorf("%s: %s", d.Summary, d.Detail)
			}
			if len(resp.ResourceSchemas)+len(resp.DataSourceSchemas) == 0 {
				t.Errorf("no resources or data sources")
			}
		})
	}
}

var _ provider.Provider = (*fakeProvider)(nil)
