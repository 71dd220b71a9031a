package lint

import (
	"fmt"
	"math/big"
	"path"
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

// claimMatcher decides whether a reference is claim-sensitive.
type claimMatcher struct {
	patterns [][]string
}

func newClaimMatcher(extra []string) (*claimMatcher, error) {
	m := &claimMatcher{}
	for _, p := range append(append([]string{}, DefaultClaimRefs...), extra...) {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		segs := strings.Split(p, ".")
		for _, s := range segs {
			if s == "" {
				return nil, fmt.Errorf("claim reference pattern %q: empty step", p)
			}
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("claim reference pattern %q: %w", p, err)
			}
		}
		m.patterns = append(m.patterns, segs)
	}
	return m, nil
}

// match reports whether the reference with the given name steps matches a
// pattern. A reference longer than a pattern matches when its first steps
// do (var.owner matches var.owner.name); a shorter one of at least three
// steps matches when it names an object holding a matching attribute
// (data.coder_workspace.me used whole). Patterns for var, local and module
// references only apply in the root module.
func (m *claimMatcher) match(steps []string, root bool) bool {
	for _, p := range m.patterns {
		if !root && (p[0] == "var" || p[0] == "local" || p[0] == "module") {
			continue
		}
		n := len(p)
		if len(steps) < n {
			if len(steps) < 3 {
				continue
			}
			n = len(steps)
		}
		ok := true
		for i := 0; i < n; i++ {
			if matched, _ := path.Match(p[i], steps[i]); !matched {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

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
