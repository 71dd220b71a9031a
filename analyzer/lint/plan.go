package lint

import (
	"errors"
	"fmt"
	"strings"

	"github.com/claimdrift/claimdrift/analyzer"
)

// ErrPlanMismatch is returned by Confirm for a plan that replaces resources
// of which the linted template declares none: a plan of another template.
var ErrPlanMismatch = errors.New("the plan is not of this template")

// Confirm checks the findings of res against the replacements of an
// analyzed plan (ideally the plan of a claim). A finding about an attribute
// the plan replaces the resource for is marked PlanConfirmed and becomes an
// error; other attribute findings are marked PlanNotReplaced. Every
// replacement, or replaced path, that no finding explains is added as a
// plan_replacement_missed error, located at the resource block when one of
// the linted modules declares it. The findings are sorted again. A plan
// that replaces resources none of which the template declares is refused
// with an error wrapping ErrPlanMismatch, and res is left as it was.
func Confirm(res *Result, rep *analyzer.Report) error {
	// Coder's own resources (coder_agent.main) are in nearly every
	// template: only the others tell templates apart.
	known, other, first := false, 0, ""
	for _, rp := range rep.Replacements {
		if strings.HasPrefix(rp.Type, "coder_") {
			continue
		}
		other++
		if first == "" {
			first = rp.Resource
		}
		if _, ok := res.declared[stripInstanceKeys(rp.Module)+"|"+rp.Type+"."+rp.Name]; ok {
			known = true
			break
		}
	}
	if other > 0 && !known {
		return fmt.Errorf("%w: it replaces %s, and the template declares none of the resources it replaces (other than coder_* ones)", ErrPlanMismatch, first)
	}
	attrFindings := map[string][]int{} // MODULE|TYPE.NAME → indexes
	for i := range res.Findings {
		f := &res.Findings[i]
		if f.resType == "" || f.Rule == RuleIgnoreChangesAll || f.Rule == RulePlanMissed || f.Rule == RuleModuleNotRead {
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
		key := stripInstanceKeys(rp.Module) + "|" + rp.Type + "." + rp.Name
		if len(rp.Paths) == 0 {
			// No paths (replace_triggered_by, a new instance key): a
			// finding about the whole resource explains it.
			explained := false
			for _, i := range attrFindings[key] {
				f := &res.Findings[i]
				if f.Attribute == "" || f.Rule == RuleInstanceKeys {
					f.Plan, f.Severity, explained = PlanConfirmed, SeverityError, true
				}
			}
			if explained {
				continue
			}
		}
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
	return nil
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
	res.locate(&f)
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
