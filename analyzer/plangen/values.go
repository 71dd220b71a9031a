package plangen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

const (
	providerDocker = "registry.terraform.io/kreuzwerker/docker"
	providerCoder  = "registry.terraform.io/coder/coder"
	prebuildOwner  = "prebuilds"
)

// claimants are the owners a prebuild is claimed by; some have characters
// that need escaping in JSON or quoting in HCL.
var claimants = []string{
	"alice", "bob", "carol", "o'neil", "zoë", "d\"quote", "back\\slash", "tab\there",
	"dave", "erin", "frank", "<grace&co>", "heidi", "ivan", "judy", "mallory",
}

// workspaceKey returns the for_each key of module instance m: mostly plain
// names, some with characters that an address must quote.
func workspaceKey(m int) string {
	switch {
	case m%7 == 3:
		return fmt.Sprintf("team %d.dev", m)
	case m%11 == 5:
		return fmt.Sprintf("o\"reilly-%d", m)
	case m%13 == 6:
		return fmt.Sprintf("zoë-ünï-%d", m)
	case m%17 == 8:
		return fmt.Sprintf(`back\slash-%d`, m)
	case m%19 == 9:
		return fmt.Sprintf("tmpl-${%d}", m)
	case m%23 == 10:
		return fmt.Sprintf("a&b<%d>", m)
	default:
		return fmt.Sprintf("ws-%05d", m)
	}
}

// quoteKey renders an instance key the way Terraform writes it in an
// address: a quoted string with ", \ and template sequences escaped.
func quoteKey(k string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '$', '%':
			b.WriteByte(c)
			if i+1 < len(k) && k[i+1] == '{' {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ids draws stable identifiers for one resource instance.
type ids struct{ r *rand.Rand }

func (g ids) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

func (g ids) uuid() string {
	h := g.hex(32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// o builds an object sorted by key.
func o(kvs ...kv) obj {
	slices.SortFunc(kvs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	return obj(kvs)
}

// containerFields are the values of a docker_container that depend on who
// owns the workspace; a replacement variant changes some of them.
type containerFields struct {
	name, hostname, envOwner, labelOwner, labelOwnerID, logTag string
	image                                                      any // string or unknown
	memory, memorySwap                                         int
	restart                                                    string
	token                                                      string
	// envSecret puts the agent token in env (then env is marked sensitive);
	// otherwise env holds a harmless workspace id in its place.
	envSecret bool
}

// agentScript is a startup script with the characters real ones carry:
// newlines, quotes, template-looking sequences, HTML characters, tabs.
const agentScript = "#!/bin/sh\nset -eu\n# fetch the agent & start it\nBIN=$(mktemp -d -t coder.XXXXXX)\ncurl -fsSL \"${ACCESS_URL}bin/coder-linux-amd64\" -o \"$BIN/coder\" || exit 1\nchmod +x \"$BIN/coder\"\n[ -n \"${CODER_AGENT_TOKEN:-}\" ] \u0026\u0026 exec \"$BIN/coder\" agent <<'EOF'\nready → ✓\nEOF\n"

func containerValue(g ids, m int, f containerFields, withUnknown bool) obj {
	firstEnv := "CODER_WORKSPACE_REF=" + f.token
	if f.envSecret {
		firstEnv = "CODER_AGENT_TOKEN=" + f.token
	}
	hexID, mac, workspaceID := g.hex(64), g.hex(2), g.uuid()
	var id, exitCode, networkData any
	if withUnknown {
		id, exitCode, networkData = unknown, unknown, unknown
	} else {
		id = hexID
		exitCode = nil
		networkData = []any{o(
			kv{"gateway", fmt.Sprintf("172.17.%d.1", m%250)},
			kv{"global_ipv6_address", ""},
			kv{"global_ipv6_prefix_length", 0},
			kv{"ip_address", fmt.Sprintf("172.17.%d.%d", m%250, 2+m%200)},
			kv{"ip_prefix_length", 16},
			kv{"ipv6_gateway", ""},
			kv{"mac_address", "02:42:ac:11:00:" + mac},
			kv{"network_name", "bridge"},
		)}
	}
	return o(
		kv{"attach", false},
		kv{"bridge", ""},
		kv{"capabilities", []any{}},
		kv{"cgroupns_mode", nil},
		kv{"command", []string{"sh", "-c", agentScript}},
		kv{"container_read_refresh_timeout_milliseconds", 15000},
		kv{"cpu_set", ""},
		kv{"cpu_shares", 0},
		kv{"destroy_grace_seconds", nil},
		kv{"devices", []any{}},
		kv{"dns", nil},
		kv{"dns_opts", nil},
		kv{"dns_search", nil},
		kv{"domainname", ""},
		kv{"entrypoint", []string{"sh", "-c"}},
		kv{"env", []string{
			firstEnv,
			"CODER_AGENT_URL=https://coder.example.com/",
			"GIT_AUTHOR_NAME=" + f.envOwner,
			"GIT_AUTHOR_EMAIL=" + f.envOwner + "@example.com",
			"HOME=/home/coder",
		}},
		kv{"exit_code", exitCode},
		kv{"gpus", nil},
		kv{"group_add", nil},
		kv{"healthcheck", []any{}},
		kv{"host", []any{o(kv{"host", "host.docker.internal"}, kv{"ip", "host-gateway"})}},
		kv{"hostname", f.hostname},
		kv{"id", id},
		kv{"image", f.image},
		kv{"init", false},
		kv{"ipc_mode", "private"},
		kv{"labels", []any{
			o(kv{"label", "coder.owner"}, kv{"value", f.labelOwner}),
			o(kv{"label", "coder.owner_id"}, kv{"value", f.labelOwnerID}),
			o(kv{"label", "coder.workspace_id"}, kv{"value", workspaceID}),
			o(kv{"label", "coder.workspace_name"}, kv{"value", f.hostname}),
		}},
		kv{"log_driver", "json-file"},
		kv{"log_opts", o(kv{"max-size", "10m"}, kv{"tag.owner", f.logTag})},
		kv{"logs", false},
		kv{"max_retry_count", 0},
		kv{"memory", f.memory},
		kv{"memory_swap", f.memorySwap},
		kv{"mounts", []any{}},
		kv{"must_run", true},
		kv{"name", f.name},
		kv{"network_data", networkData},
		kv{"network_mode", "bridge"},
		kv{"networks_advanced", []any{}},
		kv{"pid_mode", ""},
		kv{"ports", []any{
			o(kv{"external", 13000 + m%1000}, kv{"internal", 13337}, kv{"ip", "0.0.0.0"}, kv{"protocol", "tcp"}),
			o(kv{"external", 22000 + m%1000}, kv{"internal", 22}, kv{"ip", "0.0.0.0"}, kv{"protocol", "tcp"}),
		}},
		kv{"privileged", false},
		kv{"publish_all_ports", false},
		kv{"read_only", false},
		kv{"remove_volumes", true},
		kv{"restart", f.restart},
		kv{"rm", false},
		kv{"runtime", "runc"},
		kv{"security_opts", []any{}},
		kv{"shm_size", 64},
		kv{"start", true},
		kv{"stdin_open", false},
		kv{"stop_signal", ""},
		kv{"stop_timeout", 0},
		kv{"storage_opts", nil},
		kv{"sysctls", nil},
		kv{"tmpfs", nil},
		kv{"tty", false},
		kv{"ulimit", []any{}},
		kv{"upload", []any{}},
		kv{"user", ""},
		kv{"userns_mode", ""},
		kv{"volumes", []any{o(
			kv{"container_path", "/home/coder"},
			kv{"from_container", ""},
			kv{"host_path", ""},
			kv{"read_only", nil},
			kv{"volume_name", "coder-" + f.labelOwnerID + "-home"},
		)}},
		kv{"wait", false},
		kv{"wait_timeout", 60},
		kv{"working_dir", ""},
	)
}

func volumeValue(g ids, owner, ownerID string, driverOpts obj, withUnknown bool) obj {
	var id, mountpoint any = unknown, unknown
	if !withUnknown {
		id = "coder-" + ownerID + "-home"
		mountpoint = "/var/lib/docker/volumes/coder-" + ownerID + "-home/_data"
	}
	return o(
		kv{"driver", "local"},
		kv{"driver_opts", driverOpts},
		kv{"id", id},
		kv{"labels", []any{
			o(kv{"label", "coder.owner"}, kv{"value", owner}),
			o(kv{"label", "coder.owner_id"}, kv{"value", ownerID}),
		}},
		kv{"mountpoint", mountpoint},
		kv{"name", "coder-" + ownerID + "-home"},
	)
}

func imageValue(g ids, name string, keep bool, digest string, withUnknown bool) obj {
	h := g.hex(64)
	var id, imageID, repoDigest any = unknown, unknown, unknown
	if !withUnknown {
		id = "sha256:" + h + name
		imageID = "sha256:" + h
		repoDigest = digest
	}
	return o(
		kv{"build", []any{}},
		kv{"force_remove", nil},
		kv{"id", id},
		kv{"image_id", imageID},
		kv{"keep_locally", keep},
		kv{"name", name},
		kv{"platform", nil},
		kv{"pull_triggers", nil},
		kv{"repo_digest", repoDigest},
		kv{"triggers", nil},
	)
}

func networkValue(g ids, name string, options obj, withUnknown bool) obj {
	hexID := g.hex(64)
	var id any = unknown
	if !withUnknown {
		id = hexID
	}
	return o(
		kv{"attachable", false},
		kv{"check_duplicate", nil},
		kv{"driver", "bridge"},
		kv{"id", id},
		kv{"ingress", false},
		kv{"internal", false},
		kv{"ipam_config", []any{o(
			kv{"aux_address", obj{}},
			kv{"gateway", "10.20.0.1"},
			kv{"ip_range", ""},
			kv{"subnet", "10.20.0.0/24"},
		)}},
		kv{"ipam_driver", "default"},
		kv{"ipam_options", nil},
		kv{"ipv6", false},
		kv{"labels", []any{}},
		kv{"name", name},
		kv{"options", options},
		kv{"scope", "local"},
	)
}

func tagValue(g ids, target string, withUnknown bool) obj {
	h := g.hex(64)
	var id any = unknown
	if !withUnknown {
		id = "sha256:" + h + "." + target
	}
	return o(
		kv{"id", id},
		kv{"source_image", "ghcr.io/coder/base:v1"},
		kv{"source_image_id", "sha256:" + h},
		kv{"target_image", target},
	)
}

func appValue(g ids, agentID any, owner string, withUnknown bool) obj {
	h := g.uuid()
	var id any = unknown
	if !withUnknown {
		id = h
	}
	return o(
		kv{"agent_id", agentID},
		kv{"command", nil},
		kv{"display_name", "code-server"},
		kv{"external", false},
		kv{"healthcheck", []any{o(kv{"interval", 5}, kv{"threshold", 6}, kv{"url", "http://localhost:13337/healthz"})}},
		kv{"icon", "/icon/code.svg"},
		kv{"id", id},
		kv{"open_in", "slim-window"},
		kv{"order", nil},
		kv{"share", "owner"},
		kv{"slug", "code-server"},
		kv{"subdomain", false},
		kv{"url", "http://localhost:13337/?folder=/home/" + owner},
	)
}
