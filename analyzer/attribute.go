package analyzer

import (
	"fmt"
	"sort"
	"strings"
)

// Risk levels of a replacement.
const (
	RiskHigh   = "high"
	RiskNormal = "normal"
)

// DefaultClaimRefs are the references whose values differ between a
// prebuild and the workspace a user claims from it: every attribute of the
// workspace owner, those attributes of the workspace that change on a claim
// (not id, transition and the like, which stay), and the claimant's
// external auth tokens. The analyzer reads it once, at its first use: to
// add references, pass Options.ClaimRefs.
var DefaultClaimRefs = []string{
	"data.coder_workspace_owner.*",
	"data.coder_workspace.*.name",
	"data.coder_workspace.*.owner*",
	"data.coder_workspace.*.is_prebuild",
	"data.coder_workspace.*.is_prebuild_claim",
	// 1 in a prebuild, 0 once claimed (the count form of is_prebuild).
	"data.coder_workspace.*.prebuild_count",
	// The claimant's token for an external auth provider (the coder
	// provider reads it from the build's environment; a prebuild has none).
	"data.coder_external_auth.*.access_token",
}

// DefaultStatefulTypes are resource types that hold data: replacing one
// loses what it stores, so the replacement is high risk.
var DefaultStatefulTypes = []string{
	// docker
	"docker_volume",
	// kubernetes (a namespace takes everything in it with it)
	"kubernetes_namespace", "kubernetes_namespace_v1",
	"kubernetes_persistent_volume_claim", "kubernetes_persistent_volume_claim_v1",
	"kubernetes_persistent_volume", "kubernetes_persistent_volume_v1",
	"kubernetes_stateful_set", "kubernetes_stateful_set_v1",
	// aws
	"aws_ebs_volume", "aws_efs_file_system", "aws_db_instance", "aws_rds_cluster",
	"aws_rds_cluster_instance", "aws_dynamodb_table", "aws_s3_bucket", "aws_fsx_*",
	// google
	"google_compute_disk", "google_compute_region_disk", "google_sql_database_instance",
	"google_sql_database", "google_storage_bucket", "google_filestore_instance",
	// azurerm
	"azurerm_resource_group", "azurerm_managed_disk", "azurerm_storage_account", "azurerm_storage_share",
	"azurerm_postgresql_*", "azurerm_mysql_*", "azurerm_mssql_database", "azurerm_cosmosdb_account",
	// digitalocean
	"digitalocean_volume", "digitalocean_database_cluster", "digitalocean_spaces_bucket",
	// incus
	"incus_storage_volume", "incus_volume",
}

// IsClaimSensitive reports whether a root-level reference differs per
// claimant: it matches one of DefaultClaimRefs or extra (see ClaimMatcher;
// an invalid extra pattern is ignored).
func IsClaimSensitive(ref string, extra []string) bool {
	return mustClaimMatcher(extra).Match(ref)
}

// IsStatefulType reports whether resources of type typ hold data (it
// matches DefaultStatefulTypes or extra): replacing one loses what it
// stores.
func IsStatefulType(typ string, extra []string) bool { return isStateful(typ, extra) }

// isStateful reports whether typ holds data.
func isStateful(typ string, extra []string) bool {
	for _, list := range [][]string{DefaultStatefulTypes, extra} {
		for _, p := range list {
			if MatchGlob(p, typ) {
				return true
			}
		}
	}
	return false
}

// attribute adds cause attribution, risk and the ignore_changes fix to the
// replacements, using the plan's configuration section when there is one.
func (a *assembler) attribute() {
	cfg := parseConfiguration(a.config)
	claims := mustClaimMatcher(a.opts.ClaimRefs)
	// Replaced resources by module instance and resource (without the
	// resource's own instance key): module.ws["a"].docker_volume.home.
	replaced := map[string]bool{}
	for _, rep := range a.rep.Replacements {
		replaced[resourceKey(rep.Module, rep.Type+"."+rep.Name)] = true
	}
	for i := range a.rep.Replacements {
		rep := &a.rep.Replacements[i]
		rep.Risk = RiskNormal
		if isStateful(rep.Type, a.opts.StatefulTypes) {
			rep.Risk = RiskHigh
		}
		if a.rep.Input != InputPlanJSON {
			continue
		}
		var res *cfgResource
		var sc *scope
		if cfg != nil {
			if s, ok := cfg.scopeFor(rep.Module); ok {
				sc = s
				res = s.mod.resource(rep.Type, rep.Name)
			}
		}
		for j := range rep.Changes {
			ch := &rep.Changes[j]
			ch.References = []string{}
			if res == nil {
				continue
			}
			e, ok := exprAt(res.Expressions, ch.Steps)
			if !ok {
				continue
			}
			out := map[string]bool{}
			sc.resolve(e.References, res.ForEachExpression, 0, out)
			for r := range out {
				ch.References = append(ch.References, r)
			}
			sort.Strings(ch.References)
			for _, r := range ch.References {
				if claims.Match(r) {
					ch.ClaimSensitive = true
					rep.ClaimSensitive = true
				}
				if key, ok := refInstanceKey(r, rep.Module); ok && replaced[key] && key != resourceKey(rep.Module, rep.Type+"."+rep.Name) {
					ch.ReplacedReferences = append(ch.ReplacedReferences, r)
				}
			}
		}
		rep.Fix = Fix(rep)
	}
}

// Fix returns the lifecycle block that stops a replacement's paths from
// forcing it, ready to paste into the resource, with a comment on each path
// that is a map key or list element and on each whose change is not
// claim-sensitive (ignoring those hides changes the template wants). It
// returns "" when the replacement has no paths.
func Fix(rep *Replacement) string {
	if len(rep.Changes) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("lifecycle {\n  ignore_changes = [\n")
	for _, ch := range rep.Changes {
		var notes []string
		if len(ch.Steps) > 1 {
			switch last := ch.Steps[len(ch.Steps)-1].(type) {
			case int:
				notes = append(notes, fmt.Sprintf("list element [%d]: only this element is ignored", last))
			case string:
				if !isIdentifier(last) {
					notes = append(notes, "map key: only this key is ignored")
				}
			}
		}
		hasLocal := false
		for _, r := range ch.References {
			if strings.HasPrefix(r, "local.") || strings.Contains(r, ".local.") {
				hasLocal = true
			}
		}
		switch {
		case len(ch.ReplacedReferences) > 0 && !ch.ClaimSensitive:
			notes = append(notes, "follows the replacement of "+strings.Join(refResources(ch.ReplacedReferences), ", ")+" in this plan: fix that first")
		case !ch.ClaimSensitive && hasLocal:
			notes = append(notes, "the plan does not record what locals are made of: check "+strings.Join(ch.References, ", ")+" (claimdrift lint follows them)")
		case !ch.ClaimSensitive && ch.References != nil:
			what := "changes the template makes here"
			if len(ch.References) > 0 {
				what = "changes of " + strings.Join(ch.References, ", ")
			}
			notes = append(notes, "no claim-sensitive input found: ignoring it also hides "+what)
		}
		line := "    " + ch.Path + ","
		if len(notes) > 0 {
			line += " # " + strings.Join(notes, "; ")
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("  ]\n}")
	return b.String()
}

// resourceKey names a resource within a module instance.
func resourceKey(moduleInstance, resource string) string {
	if moduleInstance == "" {
		return resource
	}
	return moduleInstance + "." + resource
}

// refInstanceKey resolves a root-level reference (qualified with module
// call names, as resolve writes them) to the resource it points into,
// within the module instance of the replacement being attributed: a
// reference from module.ws (a call name) inside module.ws["a"] points into
// module.ws["a"]. It reports false for references that are not to a
// managed resource, or that lead into modules other than the
// replacement's own or its ancestors (their instance is not known).
func refInstanceKey(ref, repModule string) (string, bool) {
	parts := strings.Split(ref, ".")
	var calls []string
	i := 0
	for i+1 < len(parts) && parts[i] == "module" {
		calls = append(calls, parts[i+1])
		i += 2
	}
	if len(parts)-i < 2 {
		return "", false
	}
	switch parts[i] {
	case "var", "local", "data", "module", "each", "count", "path", "terraform", "self":
		return "", false
	}
	resource := parts[i] + "." + refRoot(parts[i+1])
	segs, ok := moduleSegments(repModule)
	if !ok || len(calls) > len(segs) {
		return "", false
	}
	for k, name := range calls {
		if refRoot(strings.TrimPrefix(segs[k], "module.")) != name {
			return "", false
		}
	}
	return resourceKey(strings.Join(segs[:len(calls)], "."), resource), true
}

func refResources(refs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range refs {
		parts := strings.Split(r, ".")
		i := 0
		for i+1 < len(parts) && parts[i] == "module" {
			i += 2
		}
		if len(parts)-i < 2 {
			continue
		}
		res := strings.Join(parts[:i], ".")
		if res != "" {
			res += "."
		}
		res += parts[i] + "." + refRoot(parts[i+1])
		if !seen[res] {
			seen[res] = true
			out = append(out, res)
		}
	}
	return out
}
