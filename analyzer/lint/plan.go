package lint

import (
	"fmt"
	"strings"

	"github.com/claimdrift/claimdrift/analyzer"
)

// Confirm checks the findings of res against the replacements of an
// analyzed plan (ideally the plan of a claim). A finding about an attribute
// the plan replaces the resource for is marked PlanConfirmed and becomes an
// error; other attribute findings are marked PlanNotReplaced. Every
// replacement, or replaced path, that no finding explains is added as a
// plan_replacement_missed error, located at the resource block when one of
// the linted modules declares it; replacements of coder_* resources are left
// out, as in the static pass. The findings are sorted again.
func Confirm(res *Result, rep *analyzer.Report) {
	attrFindings := map[string][]int{} // MODULE|TYPE.NAME → indexes
	for i := range res.Findings {
		f := &res.Findings[i]
		if f.resType == "" || f.Rule == RuleIgnoreChangesAll || f.Rule == RulePlanMissed {
			continue
		}
		f.Plan = PlanNotReplaced
		for _, m := range f.Modules {
			key := m + "|" + f.resType + "." + f.resName
			attrFindings[key] = append(attrFindings[key], i)
		}
	}
	var missed []Finding
	for _, rp := range rep.Replacements {
		if strings.HasPrefix(rp.Type, "coder_") {
			// Like the static pass, leave Coder's own resources alone.
			continue
		}
		key := stripInstanceKeys(rp.Module) + "|" + rp.Type + "." + rp.Name
		var unexplained []string
		for _, p := range rp.Paths {
			explained := false
			for _, i := range attrFindings[key] {
				f := &res.Findings[i]
				if pathsOverlap(p, f.Attribute) {
					explained = true
					if f.Plan != PlanConfirmed && f.Rule != RuleForcesReplacement {
						f.Message += "; the plan replaces it because of `" + p + "`"
					}
					f.Plan = PlanConfirmed
					f.Severity = SeverityError
				}
			}
			if !explained {
				unexplained = append(unexplained, p)
			}
		}
		if len(rp.Paths) > 0 && len(unexplained) == 0 {
			continue
		}
		missed = append(missed, missedFinding(res, rp, key, unexplained))
	}
	res.Findings = append(res.Findings, missed...)
	res.sort()
}

func missedFinding(res *Result, rp analyzer.Replacement, key string, paths []string) Finding {
	f := Finding{
		Rule:      RulePlanMissed,
		Severity:  SeverityError,
		Resource:  rp.Resource,
		Attribute: strings.Join(paths, ", "),
		Plan:      PlanMissed,
	}
	if d, ok := res.declared[key]; ok {
		f.File, f.Line, f.Column = d.file, d.line, d.column
	}
	reason := rp.Reason
	if reason == "" {
		reason = "no reason given"
	}
	if len(paths) == 0 {
		f.Message = fmt.Sprintf("the plan replaces %s (%s) without attribute paths, and no static finding explains it", rp.Resource, reason)
		return f
	}
	f.Message = fmt.Sprintf("the plan replaces %s (%s) because of %s, and no static finding explains it", rp.Resource, reason, strings.Join(quoteAll(paths), ", "))
	f.Fix = "lifecycle { ignore_changes = [" + strings.Join(paths, ", ") + "] }"
	return f
}

// pathsOverlap reports whether two rendered paths are equal or one is a
// prefix of the other at a step boundary (env and env[0], metadata[0] and
// metadata[0].name).
func pathsOverlap(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	if !strings.HasPrefix(b, a) {
		return false
	}
	return len(a) == len(b) || b[len(a)] == '.' || b[len(a)] == '['
}

// stripInstanceKeys drops instance keys from a module address:
// module.ws["a"].module.x[0] → module.ws.module.x.
func stripInstanceKeys(addr string) string {
	calls, ok := analyzer.ModuleCalls(addr)
	if !ok || len(calls) == 0 {
		return addr
	}
	return "module." + strings.Join(calls, ".module.")
}
