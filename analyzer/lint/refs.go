package lint

import (
	"math/big"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/claimdrift/claimdrift/analyzer"
)

// DefaultClaimRefs are the reference patterns claim-sensitive by default:
// every attribute of data.coder_workspace_owner, and the attributes of
// data.coder_workspace that change when a prebuild is claimed (its name,
// owner, and prebuild flags) but not those that stay (id, transition,
// start_count, access_url…).
// It is the analyzer's list, so that lint and the plan analysis agree.
var DefaultClaimRefs = analyzer.DefaultClaimRefs

// nameSteps returns the attribute names of a traversal, dropping index and
// splat steps.
func nameSteps(t hcl.Traversal) []string {
	var out []string
	for _, s := range t {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			out = append(out, s.Name)
		case hcl.TraverseAttr:
			out = append(out, s.Name)
		}
	}
	return out
}

// renderTraversal writes a traversal in Terraform syntax.
func renderTraversal(t hcl.Traversal) string {
	var b strings.Builder
	for _, s := range t {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString(".")
			b.WriteString(s.Name)
		case hcl.TraverseIndex:
			if p, ok := indexStep(s.Key); ok {
				b.WriteString(analyzer.Path{"x", p}.String()[1:])
			} else {
				b.WriteString("[…]")
			}
		case hcl.TraverseSplat:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// indexStep turns an index key into a path step.
func indexStep(k cty.Value) (any, bool) {
	if !k.IsKnown() || k.IsNull() {
		return nil, false
	}
	switch k.Type() {
	case cty.String:
		return k.AsString(), true
	case cty.Number:
		bf := k.AsBigFloat()
		if i, acc := bf.Int64(); acc == big.Exact && i >= 0 && i < 1<<31 {
			return int(i), true
		}
	}
	return nil, false
}

// traversalPath turns a traversal (absolute or relative) into path steps.
func traversalPath(t hcl.Traversal) (ignorePath, bool) {
	var p ignorePath
	for _, s := range t {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			p = append(p, s.Name)
		case hcl.TraverseAttr:
			p = append(p, s.Name)
		case hcl.TraverseIndex:
			st, ok := indexStep(s.Key)
			if !ok {
				return nil, false
			}
			p = append(p, st)
		default:
			return nil, false
		}
	}
	return p, len(p) > 0
}

func renderPath(p []any) string { return analyzer.Path(p).String() }

// hasPrefix reports whether pre is a prefix of p, step by step.
func hasPrefix(p, pre []any) bool {
	if len(pre) > len(p) {
		return false
	}
	for i := range pre {
		if p[i] != pre[i] {
			return false
		}
	}
	return true
}
