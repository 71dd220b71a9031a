package simulate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// The system user that owns prebuilt workspaces until they are claimed, as
// Coder names it.
const (
	PrebuildsOwner   = "prebuilds"
	PrebuildsOwnerID = "c42fdf75-3097-471c-8c33-fb52454d81c0"
)

// identityNS seeds the UUIDs simulate makes up (workspace, template and
// claimant ids): the same template and preset always get the same ones.
var identityNS = uuid.MustParse("5d0c6a2e-8f4b-4c1d-9e3a-7b2f1c0d4e59")

// Identity is who a build runs as: what the coder provider's data sources
// (coder_workspace, coder_workspace_owner) read from the environment.
type Identity struct {
	Owner      string `json:"owner"`
	OwnerID    string `json:"owner_id"`
	OwnerName  string `json:"owner_name,omitempty"`
	OwnerEmail string `json:"owner_email"`
	// OwnerGroups are the names of the owner's groups (none for the
	// prebuilds user).
	OwnerGroups     []string `json:"owner_groups,omitempty"`
	WorkspaceName   string   `json:"workspace_name"`
	IsPrebuild      bool     `json:"is_prebuild"`
	IsPrebuildClaim bool     `json:"is_prebuild_claim"`
}

// env is the identity as the coder provider reads it (provider/workspace.go
// and workspace_owner.go of coder/terraform-provider-coder). The session
// token, OIDC token and SSH keys are made-up values that differ per owner,
// as real ones do; they are never real secrets.
func (id Identity) env() []string {
	b := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	fake := func(what string) string {
		sum := sha256.Sum256([]byte(what + "\x00" + id.OwnerID))
		return "claimdrift-simulated-" + what + "-" + hex.EncodeToString(sum[:8])
	}
	login := "password"
	if id.Owner == PrebuildsOwner {
		login = "none"
	}
	return []string{
		"CODER_WORKSPACE_NAME=" + id.WorkspaceName,
		"CODER_WORKSPACE_OWNER=" + id.Owner,
		"CODER_WORKSPACE_OWNER_ID=" + id.OwnerID,
		"CODER_WORKSPACE_OWNER_NAME=" + id.OwnerName,
		"CODER_WORKSPACE_OWNER_EMAIL=" + id.OwnerEmail,
		"CODER_WORKSPACE_OWNER_GROUPS=" + groupsJSON(id.OwnerGroups),
		"CODER_WORKSPACE_OWNER_LOGIN_TYPE=" + login,
		"CODER_WORKSPACE_OWNER_SESSION_TOKEN=" + fake("session-token"),
		"CODER_WORKSPACE_OWNER_OIDC_ACCESS_TOKEN=" + fake("oidc-token"),
		"CODER_WORKSPACE_OWNER_SSH_PUBLIC_KEY=ssh-ed25519 " + fake("ssh-key"),
		"CODER_WORKSPACE_OWNER_SSH_PRIVATE_KEY=" + fake("ssh-private-key"),
		"CODER_WORKSPACE_IS_PREBUILD=" + b(id.IsPrebuild),
		"CODER_WORKSPACE_IS_PREBUILD_CLAIM=" + b(id.IsPrebuildClaim),
	}
}

// groupsJSON is the groups as the coder provider reads them: a JSON list.
func groupsJSON(groups []string) string {
	if len(groups) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(groups)
	return string(b)
}

// workspace is what a prebuild and its claim share: the workspace id, the
// template, the start transition and the preset's parameter values.
type workspace struct {
	id              string
	templateID      string
	templateName    string
	templateVersion string
	parameters      map[string]string
}

func (w workspace) env() []string {
	env := []string{
		"CODER_WORKSPACE_ID=" + w.id,
		"CODER_WORKSPACE_TRANSITION=start",
		"CODER_WORKSPACE_TEMPLATE_ID=" + w.templateID,
		"CODER_WORKSPACE_TEMPLATE_NAME=" + w.templateName,
		"CODER_WORKSPACE_TEMPLATE_VERSION=" + w.templateVersion,
	}
	names := make([]string, 0, len(w.parameters))
	for n := range w.parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		env = append(env, ParameterEnv(n)+"="+w.parameters[n])
	}
	return env
}

// ParameterEnv is the environment variable the coder provider reads a
// parameter's value from (data.coder_parameter): CODER_PARAMETER_ and the
// hex SHA-256 of the parameter's name.
func ParameterEnv(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "CODER_PARAMETER_" + hex.EncodeToString(sum[:])
}

// cleanEnv is the caller's environment without what would change what
// Terraform does behind simulate's back: CODER_* (the identity is
// simulate's), TF_CLI_ARGS*, TF_WORKSPACE, TF_DATA_DIR, logging; plus
// non-interactive settings.
func cleanEnv(env []string) []string {
	out := make([]string, 0, len(env)+4)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "CODER_"), strings.HasPrefix(k, "TF_CLI_ARGS"), strings.HasPrefix(k, "TF_LOG"),
			k == "TF_WORKSPACE", k == "TF_DATA_DIR", k == "TF_INPUT", k == "TF_IN_AUTOMATION", k == "CHECKPOINT_DISABLE":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1")
}

// derivedID is a UUID made up from parts, stable across runs.
func derivedID(parts ...string) string {
	return uuid.NewSHA1(identityNS, []byte(strings.Join(parts, "\x00"))).String()
}

// prebuildName is the generated name of a prebuilt workspace.
func prebuildName(template, preset string) string {
	sum := sha256.Sum256([]byte(template + "\x00" + preset))
	return "prebuild-" + hex.EncodeToString(sum[:4])
}
