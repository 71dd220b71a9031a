package plangen

import (
	"errors"
	"fmt"
	"io"
)

// Options say what plan to generate.
type Options struct {
	// Resources is the number of resource instances in resource_changes
	// (at least 1).
	Resources int
	// ReplaceRatio is the share of resources the plan replaces, 0 to 1.
	ReplaceRatio float64
	// Seed makes the plan reproducible: the same options give the same bytes.
	Seed uint64
	// TerraformVersion is written as terraform_version; "1.5.7" when empty.
	TerraformVersion string
}

// Stats describe a generated plan.
type Stats struct {
	// Bytes is the size of the document written.
	Bytes int64
	// Resources is the number of entries in resource_changes.
	Resources int
	// Replacements is the number of changes whose actions are a replacement.
	Replacements int
	// Drifted is the number of entries in resource_drift.
	Drifted int
}

// ErrOptions is returned for options that cannot make a plan.
var ErrOptions = errors.New("invalid generator options")

func (o Options) validate() error {
	if o.Resources < 1 {
		return fmt.Errorf("%w: resources must be at least 1, got %d", ErrOptions, o.Resources)
	}
	if o.ReplaceRatio < 0 || o.ReplaceRatio > 1 {
		return fmt.Errorf("%w: replace ratio must be within 0 and 1, got %g", ErrOptions, o.ReplaceRatio)
	}
	return nil
}

// Write writes one plan document, on one line followed by a newline (as
// `terraform show -json` prints it), to w.
func Write(w io.Writer, opts Options) (Stats, error) {
	if err := opts.validate(); err != nil {
		return Stats{}, err
	}
	if opts.TerraformVersion == "" {
		opts.TerraformVersion = "1.5.7"
	}
	cw := &countingWriter{w: w}
	j := newJW(cw)
	g := &gen{opts: opts}
	st := g.write(j)
	if err := j.flush(); err != nil {
		return Stats{}, fmt.Errorf("write plan: %w", err)
	}
	st.Bytes = cw.n
	return st, nil
}

// ResourcesForSize returns the number of resources that makes a plan of
// about size bytes with the other options given, measured by generating a
// sample.
func ResourcesForSize(size int64, opts Options) (int, error) {
	const small, large = 202, 4002
	opts.Resources = small
	a, err := Write(io.Discard, opts)
	if err != nil {
		return 0, err
	}
	opts.Resources = large
	b, err := Write(io.Discard, opts)
	if err != nil {
		return 0, err
	}
	per := float64(b.Bytes-a.Bytes) / float64(large-small)
	fixed := float64(a.Bytes) - per*small
	n := int((float64(size) - fixed) / per)
	return max(n, 1), nil
}

func (g *gen) write(j *jw) Stats {
	var st Stats
	n := g.opts.Resources
	j.raw(`{"format_version":"1.2","terraform_version":`)
	j.str(g.opts.TerraformVersion)
	j.raw(`,"variables":{"agent_token_secret":{"value":"do-not-print-me"},"claimant":{"value":"alice"},"prebuild_count":{"value":`)
	j.int(int64(g.modules()))
	j.raw(`}}`)

	// planned_values: what the resources look like after apply.
	j.raw(`,"planned_values":{"outputs":{"agent_tokens":{"sensitive":true},"workspace_count":{"sensitive":false,"type":"number","value":`)
	j.int(int64(g.modules()))
	j.raw(`}},"root_module":`)
	g.writeModuleTree(j, false)
	j.byte('}')

	// resource_drift: changes made outside Terraform.
	first := true
	for i := 0; i < n; i++ {
		if !g.fate(i).drift {
			continue
		}
		if first {
			j.raw(`,"resource_drift":[`)
			first = false
		} else {
			j.byte(',')
		}
		in := g.instance(i)
		g.writeChange(j, in, true)
		st.Drifted++
	}
	if !first {
		j.byte(']')
	}

	// resource_changes: one entry per resource instance.
	j.raw(`,"resource_changes":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			j.byte(',')
		}
		in := g.instance(i)
		g.writeChange(j, in, false)
		if in.replaced() {
			st.Replacements++
		}
	}
	j.byte(']')
	st.Resources = n

	j.raw(`,"output_changes":{"agent_tokens":{"actions":["update"],"before":"old-token-value","after":null,"after_unknown":true,"before_sensitive":true,"after_sensitive":true},"workspace_count":{"actions":["no-op"],"before":`)
	j.int(int64(g.modules()))
	j.raw(`,"after":`)
	j.int(int64(g.modules()))
	j.raw(`,"after_unknown":false,"before_sensitive":false,"after_sensitive":false}}`)

	// prior_state: the refreshed state the plan starts from.
	j.raw(`,"prior_state":{"format_version":"1.0","terraform_version":`)
	j.str(g.opts.TerraformVersion)
	j.raw(`,"values":{"outputs":{"agent_tokens":{"sensitive":true,"value":"old-token-value","type":"string"},"workspace_count":{"sensitive":false,"value":`)
	j.int(int64(g.modules()))
	j.raw(`,"type":"number"}},"root_module":`)
	g.writeModuleTree(j, true)
	j.raw(`}}`)

	j.raw(`,"configuration":`)
	j.raw(configuration)

	j.raw(`,"relevant_attributes":[`)
	first = true
	for m := range g.modules() {
		if g.kindsIn(m) <= kindImage {
			continue
		}
		if !first {
			j.byte(',')
		}
		first = false
		j.raw(`{"resource":`)
		j.str(g.moduleAddr(m) + ".docker_image.main")
		j.raw(`,"attribute":["image_id"]}`)
	}
	j.raw(`],"timestamp":"2026-01-02T03:04:05Z","errored":false}`)
	j.byte('\n')
	return st
}

// writeModuleTree writes the root module of planned_values (prior false)
// or prior_state (prior true): the resources present after (or before)
// the plan, grouped by module instance.
func (g *gen) writeModuleTree(j *jw, prior bool) {
	present := func(in *instance) bool {
		if in.mode != "managed" {
			return false
		}
		if prior {
			return in.before != nil
		}
		return in.after != nil
	}
	j.raw(`{"resources":[`)
	first := true
	for i := 0; i < min(rootResources, g.opts.Resources); i++ {
		in := g.instance(i)
		if !present(in) {
			continue
		}
		if !first {
			j.byte(',')
		}
		first = false
		g.writeStateResource(j, in, prior)
	}
	j.byte(']')
	if g.modules() > 0 {
		j.raw(`,"child_modules":[`)
		firstMod := true
		for m := range g.modules() {
			base := rootResources + m*kindsPerModule
			kinds := g.kindsIn(m)
			var own []*instance
			var net *instance
			for k := range kinds {
				in := g.instance(base + k)
				if !present(in) {
					continue
				}
				if k == kindNetwork {
					net = in
				} else {
					own = append(own, in)
				}
			}
			if len(own) == 0 && net == nil {
				continue
			}
			if !firstMod {
				j.byte(',')
			}
			firstMod = false
			j.byte('{')
			if len(own) > 0 {
				j.raw(`"resources":[`)
				for x, in := range own {
					if x > 0 {
						j.byte(',')
					}
					g.writeStateResource(j, in, prior)
				}
				j.raw(`],`)
			}
			j.raw(`"address":`)
			j.str(g.moduleAddr(m))
			if net != nil {
				j.raw(`,"child_modules":[{"resources":[`)
				g.writeStateResource(j, net, prior)
				j.raw(`],"address":`)
				j.str(net.module)
				j.raw(`}]`)
			}
			j.byte('}')
		}
		j.byte(']')
	}
	j.byte('}')
}

func (g *gen) writeHeader(j *jw, in *instance, withModule bool) {
	j.raw(`{"address":`)
	j.str(in.addr)
	if withModule {
		if in.prevAddr != "" {
			j.raw(`,"previous_address":`)
			j.str(in.prevAddr)
		}
		if in.module != "" {
			j.raw(`,"module_address":`)
			j.str(in.module)
		}
	}
	j.raw(`,"mode":`)
	j.str(in.mode)
	j.raw(`,"type":`)
	j.str(in.typ)
	j.raw(`,"name":`)
	j.str(in.name)
	if in.index != nil {
		j.raw(`,"index":`)
		j.val(in.index)
	}
	j.raw(`,"provider_name":`)
	j.str(in.provider)
}

func (g *gen) writeStateResource(j *jw, in *instance, prior bool) {
	g.writeHeader(j, in, false)
	j.raw(`,"schema_version":`)
	j.int(int64(in.schemaVersion))
	v, marks := in.after, in.afterMarks
	if prior {
		v, marks = in.before, in.beforeMarks
	}
	j.raw(`,"values":`)
	j.val(v)
	j.raw(`,"sensitive_values":`)
	j.val(mask(v, marks, 0, false))
	if prior && len(in.dependsOn) > 0 {
		j.raw(`,"depends_on":`)
		j.val(in.dependsOn)
	}
	if prior && in.tainted {
		j.raw(`,"tainted":true`)
	}
	j.byte('}')
}

// writeChange writes one entry of resource_changes, or of resource_drift
// when drift is true.
func (g *gen) writeChange(j *jw, in *instance, drift bool) {
	g.writeHeader(j, in, true)
	before, after := in.before, in.after
	actions := in.actions
	if drift {
		before, actions = in.driftOld, actUpdate
		after = in.before
	}
	j.raw(`,"change":{"actions":`)
	j.val(actions)
	j.raw(`,"before":`)
	j.val(before)
	j.raw(`,"after":`)
	j.val(after)
	j.raw(`,"after_unknown":`)
	if after != nil {
		j.val(mask(after, nil, 0, true))
	} else {
		j.raw(`{}`)
	}
	beforeMarks, afterMarks := in.beforeMarks, in.afterMarks
	if drift {
		afterMarks = beforeMarks
	}
	j.raw(`,"before_sensitive":`)
	if before != nil {
		j.val(mask(before, beforeMarks, 0, false))
	} else {
		j.raw(`false`)
	}
	j.raw(`,"after_sensitive":`)
	if after != nil {
		j.val(mask(after, afterMarks, 0, false))
	} else {
		j.raw(`false`)
	}
	if !drift && len(in.replacePaths) > 0 {
		j.raw(`,"replace_paths":[`)
		for x, p := range in.replacePaths {
			if x > 0 {
				j.byte(',')
			}
			j.val(p)
		}
		j.byte(']')
	}
	j.byte('}')
	if !drift && in.reason != "" {
		j.raw(`,"action_reason":`)
		j.str(in.reason)
	}
	j.byte('}')
}

// configuration is the (size-independent) configuration section: the root
// module calls module "ws" with for_each, which calls module "net".
const configuration = `{"provider_config":{"coder":{"name":"coder","full_name":"registry.terraform.io/coder/coder","version_constraint":"\u003e= 2.0.0"},"docker":{"name":"docker","full_name":"registry.terraform.io/kreuzwerker/docker","version_constraint":"~\u003e 3.0"}},"root_module":{"outputs":{"agent_tokens":{"sensitive":true,"expression":{"references":["module.ws"]}},"workspace_count":{"expression":{"references":["local.workspaces"]}}},"resources":[{"address":"docker_network.shared","mode":"managed","type":"docker_network","name":"shared","provider_config_key":"docker","expressions":{"name":{"constant_value":"coder-shared"}},"schema_version":0},{"address":"data.docker_registry_image.base","mode":"data","type":"docker_registry_image","name":"base","provider_config_key":"docker","expressions":{"name":{"references":["var.claimant"]}},"schema_version":0}],"module_calls":{"ws":{"source":"./modules/ws","expressions":{"agent_token_secret":{"references":["var.agent_token_secret"]},"owner":{"references":["each.value.owner","each.value"]}},"for_each_expression":{"references":["local.workspaces"]},"module":{"outputs":{"token":{"sensitive":true,"expression":{"references":["var.agent_token_secret"]}}},"resources":[{"address":"docker_container.main","mode":"managed","type":"docker_container","name":"main","provider_config_key":"docker","expressions":{"command":{"constant_value":["sh","-c","#!/bin/sh\nexec coder agent\n"]},"env":{"references":["var.owner","var.agent_token_secret"]},"hostname":{"references":["var.owner"]},"image":{"references":["docker_image.main.image_id","docker_image.main"]},"labels":[{"label":{"constant_value":"coder.owner"},"value":{"references":["var.owner"]}},{"label":{"constant_value":"coder.owner_id"},"value":{"references":["var.owner_id"]}}],"name":{"references":["var.owner"]},"volumes":[{"container_path":{"constant_value":"/home/coder"},"volume_name":{"references":["docker_volume.home.name","docker_volume.home"]}}]},"schema_version":2,"count_expression":{"constant_value":1}},{"address":"docker_image.main","mode":"managed","type":"docker_image","name":"main","provider_config_key":"docker","expressions":{"name":{"constant_value":"ghcr.io/coder/base:v1"}},"schema_version":0},{"address":"coder_app.code_server","mode":"managed","type":"coder_app","name":"code_server","provider_config_key":"coder","expressions":{"agent_id":{"references":["var.agent_id"]},"slug":{"constant_value":"code-server"},"url":{"references":["var.owner"]}},"schema_version":1},{"address":"docker_tag.ws","mode":"managed","type":"docker_tag","name":"ws","provider_config_key":"docker","expressions":{"source_image":{"references":["docker_image.main.name","docker_image.main"]},"target_image":{"references":["var.owner"]}},"schema_version":0},{"address":"docker_volume.home","mode":"managed","type":"docker_volume","name":"home","provider_config_key":"docker","expressions":{"name":{"references":["var.owner_id"]}},"schema_version":0}],"module_calls":{"net":{"source":"./net","expressions":{"name":{"references":["var.owner"]}},"module":{"resources":[{"address":"docker_network.ws","mode":"managed","type":"docker_network","name":"ws","provider_config_key":"docker","expressions":{"name":{"references":["var.name"]}},"schema_version":0}],"variables":{"name":{}}}}},"variables":{"agent_token_secret":{"sensitive":true},"owner":{},"owner_id":{"default":""}}}}},"variables":{"agent_token_secret":{"sensitive":true},"claimant":{"default":"alice"}}}}`
