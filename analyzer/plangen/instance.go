package plangen

import (
	"fmt"
	"math/rand/v2"
)

// Resource kinds, in the order they are laid out in each module instance.
const (
	kindContainer = iota
	kindVolume
	kindImage
	kindTag
	kindApp
	kindNetwork // in the nested module.net
	kindsPerModule

	rootResources = 2 // docker_network.shared and data.docker_registry_image.base
)

// fate is what happens to one resource instance; it is cheap to compute and
// decides whether the instance appears in each section.
type fate struct {
	actions []string
	reason  string
	paths   bool // replacement with replace_paths
	variant int
	drift   bool
	tainted bool
}

func (f fate) replaced() bool {
	return len(f.actions) == 2 && (f.actions[0] == "delete" && f.actions[1] == "create" ||
		f.actions[0] == "create" && f.actions[1] == "delete")
}

func (f fate) hasBefore() bool {
	return !(len(f.actions) == 1 && (f.actions[0] == "create" || f.actions[0] == "read"))
}
func (f fate) hasAfter() bool { return !(len(f.actions) == 1 && f.actions[0] == "delete") }

var (
	actNoOp        = []string{"no-op"}
	actUpdate      = []string{"update"}
	actCreate      = []string{"create"}
	actDelete      = []string{"delete"}
	actRead        = []string{"read"}
	actDeleteFirst = []string{"delete", "create"}
	actCreateFirst = []string{"create", "delete"}
)

// gen holds the options of one generated plan.
type gen struct {
	opts Options
}

func (g *gen) fateRand(i int) *rand.Rand {
	return rand.New(rand.NewPCG(g.opts.Seed, uint64(i)*2+1))
}

func (g *gen) ids(i int) ids {
	return ids{rand.New(rand.NewPCG(g.opts.Seed^0x9e3779b97f4a7c15, uint64(i)*2))}
}

// modules returns how many module.ws instances hold the resources.
func (g *gen) modules() int {
	n := g.opts.Resources - rootResources
	if n <= 0 {
		return 0
	}
	return (n + kindsPerModule - 1) / kindsPerModule
}

// kindsIn returns how many resources module instance m holds (the last one
// may hold fewer).
func (g *gen) kindsIn(m int) int {
	n := g.opts.Resources - rootResources - m*kindsPerModule
	return min(n, kindsPerModule)
}

func (g *gen) fate(i int) fate {
	r := g.fateRand(i)
	switch i {
	case 0:
		return fate{actions: actNoOp, drift: r.Float64() < 0.5}
	case 1:
		return fate{actions: actRead, reason: "read_because_config_unknown"}
	}
	var f fate
	u := r.Float64()
	sub := r.Float64()
	f.variant = r.IntN(7)
	drift := r.Float64() < 0.02
	if u < g.opts.ReplaceRatio {
		switch {
		case sub < 0.70:
			f.actions, f.reason, f.paths = actDeleteFirst, "replace_because_cannot_update", true
		case sub < 0.82:
			f.actions, f.reason, f.paths = actCreateFirst, "replace_because_cannot_update", true
		case sub < 0.90:
			f.actions, f.reason, f.tainted = actDeleteFirst, "replace_because_tainted", true
		case sub < 0.96:
			f.actions, f.reason = actDeleteFirst, "replace_by_triggers"
		default:
			f.actions, f.reason = actDeleteFirst, "replace_by_request"
		}
	} else {
		switch {
		case sub < 0.05:
			f.actions = actUpdate
			if k := (i - rootResources) % kindsPerModule; k == kindVolume || k == kindTag || k == kindApp {
				f.actions = actNoOp // every attribute of these forces replacement
			}
		case sub < 0.08:
			f.actions = actCreate
		case sub < 0.10:
			f.actions, f.reason = actDelete, "delete_because_no_resource_config"
		default:
			f.actions = actNoOp
		}
	}
	f.drift = drift && f.hasBefore()
	return f
}

// instance is one resource instance with everything the sections print.
type instance struct {
	fate
	addr, prevAddr, module, mode, typ, name string
	provider                                string
	index                                   any
	schemaVersion                           int
	before, after, driftOld                 any // nil when absent
	beforeMarks, afterMarks                 []Path
	replacePaths                            []Path
	dependsOn                               []string
}

func (g *gen) moduleAddr(m int) string { return "module.ws[" + quoteKey(workspaceKey(m)) + "]" }

func (g *gen) ownerID(m int, owner string) string {
	r := rand.New(rand.NewPCG(g.opts.Seed+uint64(len(owner)), uint64(m)))
	return ids{r}.uuid()
}

func (g *gen) instance(i int) *instance {
	f := g.fate(i)
	in := &instance{fate: f, mode: "managed", provider: providerDocker}
	switch i {
	case 0:
		in.addr, in.typ, in.name = "docker_network.shared", "docker_network", "shared"
		v := networkValue(g.ids(i), "coder-shared", obj{}, false)
		in.before, in.after = v, v
		if f.drift {
			old := clone(v).(obj)
			old.set("options", o(kv{"com.docker.network.driver.mtu", "1400"}))
			in.driftOld = old
		}
		return in
	case 1:
		in.addr, in.mode, in.typ, in.name = "data.docker_registry_image.base", "data", "docker_registry_image", "base"
		in.after = o(
			kv{"id", unknown},
			kv{"insecure_skip_verify", false},
			kv{"keep_remotely", nil},
			kv{"name", "ghcr.io/coder/base:v2"},
			kv{"sha256_digest", unknown},
		)
		return in
	}
	m := (i - rootResources) / kindsPerModule
	k := (i - rootResources) % kindsPerModule
	key := workspaceKey(m)
	mod := g.moduleAddr(m)
	in.module = mod
	claimant := claimants[m%len(claimants)]
	owner := claimant
	if f.replaced() {
		owner = prebuildOwner
	}
	r := rand.New(rand.NewPCG(g.opts.Seed+1, uint64(i)))
	tokenBefore, tokenAfter := ids{r}.uuid(), ids{r}.uuid()
	if !f.replaced() {
		tokenAfter = tokenBefore
	}
	newAfter := f.replaced() || !f.hasBefore()

	switch k {
	case kindContainer:
		in.addr, in.typ, in.name, in.index = mod+".docker_container.main[0]", "docker_container", "main", 0
		in.schemaVersion = 2
		if m%29 == 14 {
			in.prevAddr = mod + ".docker_container.this[0]"
		}
		in.dependsOn = []string{mod + ".docker_image.main", mod + ".docker_volume.home"}
		image := "sha256:" + ids{rand.New(rand.NewPCG(g.opts.Seed, 7))}.hex(64)
		bf := containerFields{
			name: fmt.Sprintf("coder-%s-%d", owner, m), hostname: fmt.Sprintf("ws-%s-%d", owner, m),
			envOwner: owner, labelOwner: owner, labelOwnerID: g.ownerID(m, owner), logTag: owner,
			image: image, restart: "unless-stopped", token: tokenBefore,
		}
		var marks []Path
		if f.variant == 3 || m%5 == 0 {
			marks = append(marks, Path{"env"})
			bf.envSecret = true
		}
		if f.variant == 6 || m%9 == 0 {
			marks = append(marks, Path{"labels", 1, "value"})
		}
		in.beforeMarks, in.afterMarks = marks, marks
		af := bf
		af.token = tokenAfter
		switch {
		case f.paths:
			switch f.variant {
			case 0:
				af.name = fmt.Sprintf("coder-%s-%d", claimant, m)
				in.replacePaths = []Path{{"name"}}
			case 1:
				af.labelOwner, af.envOwner = claimant, claimant
				in.replacePaths = []Path{{"labels", 0, "value"}, {"env"}}
			case 2:
				af.hostname, af.name = fmt.Sprintf("ws-%s-%d", claimant, m), fmt.Sprintf("coder-%s-%d", claimant, m)
				in.replacePaths = []Path{{"hostname"}, {"name"}, {"labels", 3, "value"}}
			case 3:
				af.envOwner = claimant
				in.replacePaths = []Path{{"env"}}
			case 4:
				af.image = unknown
				in.replacePaths = []Path{{"image"}}
			case 5:
				af.logTag = claimant
				in.replacePaths = []Path{{"log_opts", "tag.owner"}}
			case 6:
				af.labelOwnerID = g.ownerID(m, claimant)
				in.replacePaths = []Path{{"labels", 1, "value"}, {"volumes", 0, "volume_name"}}
			}
		case f.actions[0] == "update":
			af.memory, af.memorySwap = 2048, 4096
		}
		before := containerValue(g.ids(i), m, bf, false)
		in.before = before
		in.after = containerValue(g.ids(i), m, af, newAfter)
		if f.drift {
			old := clone(before).(obj)
			old.set("memory_swap", 1024)
			old.set("restart", "always")
			in.driftOld = old
		}
	case kindVolume:
		in.addr, in.typ, in.name = mod+".docker_volume.home", "docker_volume", "home"
		opts := o(kv{"o.size", "10g"})
		ownerAfter, optsAfter := owner, opts
		if f.paths {
			if f.variant%2 == 0 {
				ownerAfter = claimant
				in.replacePaths = []Path{{"name"}, {"labels", 0, "value"}, {"labels", 1, "value"}}
			} else {
				optsAfter = o(kv{"o.size", "20g"})
				in.replacePaths = []Path{{"driver_opts", "o.size"}}
			}
		}
		in.before = volumeValue(g.ids(i), owner, g.ownerID(m, owner), opts, false)
		in.after = volumeValue(g.ids(i), ownerAfter, g.ownerID(m, ownerAfter), optsAfter, newAfter)
		if f.drift {
			old := clone(in.before).(obj)
			old.set("driver_opts", o(kv{"o.size", "10g"}, kv{"type", "tmpfs"}))
			in.driftOld = old
		}
	case kindImage:
		in.addr, in.typ, in.name = mod+".docker_image.main", "docker_image", "main"
		name, nameAfter := "ghcr.io/coder/base:v1", "ghcr.io/coder/base:v1"
		keep, keepAfter := false, false
		if f.paths {
			nameAfter = "ghcr.io/coder/base:v2"
			in.replacePaths = []Path{{"name"}}
		}
		if f.actions[0] == "update" {
			keepAfter = true
		}
		digest := "ghcr.io/coder/base@sha256:" + ids{rand.New(rand.NewPCG(g.opts.Seed, 8))}.hex(64)
		in.before = imageValue(g.ids(i), name, keep, digest, false)
		in.after = imageValue(g.ids(i), nameAfter, keepAfter, digest, newAfter)
		if f.drift {
			old := clone(in.before).(obj)
			old.set("repo_digest", "ghcr.io/coder/base@sha256:"+g.ids(i+1).hex(64))
			in.driftOld = old
		}
	case kindTag:
		in.addr, in.typ, in.name = mod+".docker_tag.ws", "docker_tag", "ws"
		target, targetAfter := "registry.local/coder/"+owner+":latest", "registry.local/coder/"+owner+":latest"
		if f.paths {
			targetAfter = "registry.local/coder/" + claimant + ":latest"
			in.replacePaths = []Path{{"target_image"}}
		}
		in.before = tagValue(g.ids(i), target, false)
		in.after = tagValue(g.ids(i), targetAfter, newAfter)
		if f.drift {
			old := clone(in.before).(obj)
			old.set("source_image_id", "sha256:"+g.ids(i+1).hex(64))
			in.driftOld = old
		}
	case kindApp:
		in.addr, in.typ, in.name, in.provider = mod+".coder_app.code_server", "coder_app", "code_server", providerCoder
		agent := g.ids(i + 1).uuid()
		var agentAfter any = agent
		if f.paths {
			agentAfter = unknown
			in.replacePaths = []Path{{"agent_id"}}
		}
		in.before = appValue(g.ids(i), agent, owner, false)
		in.after = appValue(g.ids(i), agentAfter, owner, newAfter)
		if f.drift {
			old := clone(in.before).(obj)
			old.set("order", 1)
			in.driftOld = old
		}
	case kindNetwork:
		in.module = mod + ".module.net"
		in.addr, in.typ, in.name = in.module+".docker_network.ws", "docker_network", "ws"
		name, nameAfter := "coder-net-"+key, "coder-net-"+key
		opts, optsAfter := obj{}, obj{}
		if f.paths {
			nameAfter = "coder-net-" + key + "-v2"
			in.replacePaths = []Path{{"name"}}
		}
		if f.actions[0] == "update" {
			optsAfter = o(kv{"com.docker.network.bridge.enable_icc", "false"})
		}
		in.before = networkValue(g.ids(i), name, opts, false)
		in.after = networkValue(g.ids(i), nameAfter, optsAfter, newAfter)
		if f.drift {
			old := clone(in.before).(obj)
			old.set("options", o(kv{"com.docker.network.driver.mtu", "1400"}))
			in.driftOld = old
		}
	}
	if !f.hasBefore() {
		in.before, in.beforeMarks = nil, nil
	}
	if !f.hasAfter() {
		in.after, in.afterMarks = nil, nil
	}
	return in
}
