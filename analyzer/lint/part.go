package lint

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// This file follows parts of values: local.cfg.image reads one field of an
// object local, each.value.port one field of a for_each map's values,
// module.m.info["static"] one key of a module output map. Only the
// claim-sensitive references of that part count, so a static field next to
// one that follows the owner is not reported. Whatever cannot be followed
// precisely (function results, splats, computed keys) falls back to every
// reference of the whole expression.

// elemStep is a value path step that stands for every element of a
// collection (the values a for expression or a for_each iterates).
type elemStep struct{}

// maxPartDepth bounds nested part lookups; beyond it the whole value counts.
const maxPartDepth = 256

// bindKind says what a name bound in a scope carries.
type bindKind int

const (
	// bindIter: each, or a dynamic block's iterator: .key is a key of
	// expr, .value an element of it. The zero kind: plain binds carry it
	// without naming it.
	//lint:ignore U1000 the zero value of bindKind, documented here
	bindIter bindKind = iota
	// bindElem: a for expression's value variable, an element of expr.
	bindElem
	// bindKey: a for expression's key variable, a key of expr.
	bindKey
)

// bindAs returns a scope with name bound to e, evaluated in s, as kind.
func (s *scope) bindAs(name string, e hcl.Expression, kind bindKind) *scope {
	return &scope{parent: s, name: name, expr: e, kind: kind}
}

// valueSteps returns the steps of a traversal after its root as a value
// path (attribute names, string keys, list indexes); ok is false when a
// step cannot be known statically (a splat, an unknown key), the steps then
// stop before it.
func valueSteps(t hcl.Traversal) (steps []any, ok bool) {
	for _, s := range t {
		switch s := s.(type) {
		case hcl.TraverseRoot:
		case hcl.TraverseAttr:
			steps = append(steps, s.Name)
		case hcl.TraverseIndex:
			st, known := indexStep(s.Key)
			if !known {
				return steps, false
			}
			steps = append(steps, st)
		default:
			return steps, false
		}
	}
	return steps, true
}

// boundRefs resolves a reference to a name bound in a scope; steps are the
// reference's steps after the name.
func (ev *evaluator) boundRefs(inst *instance, b *scope, steps []any) refSet {
	in := b.parent
	if b.evalIn != nil {
		in = b.evalIn
	}
	elem := func(below []any) refSet {
		return ev.part(inst, b.expr, in, append([]any{elemStep{}}, below...))
	}
	switch b.kind {
	case bindKey:
		return ev.keysOf(inst, b.expr, in, nil)
	case bindElem:
		return elem(steps)
	}
	if len(steps) > 0 {
		switch steps[0] {
		case "key":
			return ev.keysOf(inst, b.expr, in, nil)
		case "value":
			return elem(steps[1:])
		}
	}
	return ev.exprRefs(inst, b.expr, in)
}

// deref finds the expression a local, var or module output reference reads:
// in which instance and scope to evaluate it, and the steps of the
// reference below it. ok is false for other references.
func (ev *evaluator) deref(inst *instance, t hcl.Traversal) (at *instance, e hcl.Expression, sc *scope, rest []any, ok bool) {
	if len(t) < 2 {
		return nil, nil, nil, nil, false
	}
	name, isAttr := t[1].(hcl.TraverseAttr)
	if !isAttr {
		return nil, nil, nil, nil, false
	}
	switch t.RootName() {
	case "local":
		a, found := inst.mod.locals[name.Name]
		if !found {
			return nil, nil, nil, nil, false
		}
		rest, _ = valueSteps(t[2:])
		return inst, a.Expr, nil, rest, true
	case "var":
		if inst.call == nil {
			return nil, nil, nil, nil, false
		}
		a, found := inst.call.attrs[name.Name]
		if !found {
			return nil, nil, nil, nil, false
		}
		rest, _ = valueSteps(t[2:])
		return inst.parent, a.Expr, metaScope(inst.call.block.Body), rest, true
	case "module":
		child, found := inst.children[name.Name]
		if !found {
			return nil, nil, nil, nil, false
		}
		i := 2
		if i < len(t) {
			if _, key := t[i].(hcl.TraverseIndex); key {
				i++ // the instance key of a module called with count or for_each
			}
		}
		if i >= len(t) {
			return nil, nil, nil, nil, false
		}
		out, isOut := t[i].(hcl.TraverseAttr)
		if !isOut {
			return nil, nil, nil, nil, false
		}
		a, found := child.mod.outputs[out.Name]
		if !found {
			return nil, nil, nil, nil, false
		}
		rest, _ = valueSteps(t[i+1:])
		return child, a.Expr, nil, rest, true
	}
	return nil, nil, nil, nil, false
}

// traversalPart resolves a local, var or module reference to the part of
// the expression it reads, then sub below it.
func (ev *evaluator) traversalPart(inst *instance, t hcl.Traversal, sub []any) (refSet, bool) {
	at, e, sc, rest, ok := ev.deref(inst, t)
	if !ok {
		return nil, false
	}
	path := append(append([]any{}, rest...), sub...)
	key := memoKey{inst: inst, ref: "part:" + renderTraversal(t) + renderSteps(sub)}
	if r, found := ev.memo[key]; found {
		return r.refs, true
	}
	if ev.active[key] {
		return refSet{}, true // a cycle, which Terraform rejects
	}
	if ev.partDepth > maxPartDepth {
		// Too deep (a long chain, or a path that grows at every
		// step): the caller follows the whole value instead.
		return nil, false
	}
	ev.active[key] = true
	ev.partDepth++
	refs := ev.part(at, e, sc, path)
	ev.partDepth--
	delete(ev.active, key)
	ev.memo[key] = resolved{refs: refs}
	return refs, true
}

// instancesPart resolves attributes of every instance of a resource with
// count or for_each (sub: an element, then attribute names), as
// [for v in docker_volume.x : v.name] reads them: those attributes and
// the number of instances, not every argument of the resource.
func (ev *evaluator) instancesPart(inst *instance, t hcl.Traversal, sub []any) (refSet, bool) {
	r := ev.counted(inst, t)
	if r == nil || len(sub) < 2 || !isElem(sub[0]) {
		return nil, false
	}
	m := meta(r.block.Body)
	attr := append(hcl.Traversal{}, t...)
	for _, s := range sub[1:] {
		name, ok := s.(string)
		if !ok {
			break
		}
		attr = append(attr, hcl.TraverseAttr{Name: name})
	}
	return ev.guarded(memoKey{inst: inst, ref: "instances:" + renderTraversal(attr)}, func() refSet {
		out := refSet{}
		out.add(ev.traversal(inst, attr).refs)
		out.add(ev.exprRefs(inst, m.Expr, nil))
		return out
	}), true
}

// guarded is fn's result, memoized under key; a call for key while fn
// runs (a cycle, which Terraform rejects) is empty.
func (ev *evaluator) guarded(key memoKey, fn func() refSet) refSet {
	if r, found := ev.memo[key]; found {
		return r.refs
	}
	if ev.active[key] {
		return refSet{}
	}
	ev.active[key] = true
	refs := fn()
	delete(ev.active, key)
	ev.memo[key] = resolved{refs: refs}
	return refs
}

// counted is the managed resource t names (TYPE.NAME, nothing below) when
// it has count or for_each; nil otherwise (a resource of one instance is,
// as a collection, its object of attributes).
func (ev *evaluator) counted(inst *instance, t hcl.Traversal) *resource {
	if inst == nil || inst.mod == nil || len(t) != 2 {
		return nil
	}
	steps := nameSteps(t)
	if len(steps) != 2 {
		return nil
	}
	switch steps[0] {
	case "var", "local", "module", "data", "each", "count", "self", "path", "terraform":
		return nil
	}
	r, ok := inst.mod.byAddr[steps[0]+"."+steps[1]]
	if !ok || meta(r.block.Body) == nil {
		return nil
	}
	return r
}

func renderSteps(steps []any) string {
	var b strings.Builder
	for _, s := range steps {
		switch s := s.(type) {
		case elemStep:
			b.WriteString("[*]")
		case string:
			fmt.Fprintf(&b, "[%q]", s)
		default:
			fmt.Fprintf(&b, "[%v]", s)
		}
	}
	return b.String()
}

// part returns the claim-sensitive references of the part of e at sub (an
// empty sub is the whole value), e evaluated in inst and sc.
func (ev *evaluator) part(inst *instance, e hcl.Expression, sc *scope, sub []any) refSet {
	if len(sub) == 0 {
		return ev.exprRefs(inst, e, sc)
	}
	switch x := e.(type) {
	case *hclsyntax.ParenthesesExpr:
		return ev.part(inst, x.Expression, sc, sub)
	case *hclsyntax.TemplateWrapExpr:
		return ev.part(inst, x.Wrapped, sc, sub)
	case *hclsyntax.ObjectConsExpr:
		keys := make([]string, len(x.Items))
		for i, item := range x.Items {
			k, ok := literalKey(item.KeyExpr)
			if !ok {
				return ev.exprRefs(inst, e, sc)
			}
			keys[i] = k
		}
		out := refSet{}
		switch s := sub[0].(type) {
		case string:
			for i, item := range x.Items {
				if keys[i] == s {
					out = ev.part(inst, item.ValueExpr, sc, sub[1:])
				}
			}
		case elemStep:
			for _, item := range x.Items {
				out.add(ev.part(inst, item.ValueExpr, sc, sub[1:]))
			}
		default:
			return ev.exprRefs(inst, e, sc)
		}
		return out
	case *hclsyntax.TupleConsExpr:
		switch s := sub[0].(type) {
		case int:
			if s < len(x.Exprs) {
				return ev.part(inst, x.Exprs[s], sc, sub[1:])
			}
			return refSet{}
		case elemStep:
			out := refSet{}
			for _, el := range x.Exprs {
				out.add(ev.part(inst, el, sc, sub[1:]))
			}
			return out
		}
	case *hclsyntax.ScopeTraversalExpr:
		t := x.Traversal
		if b, ok := sc.lookup(t.RootName()); ok {
			if b.expr == nil {
				return refSet{}
			}
			steps, known := valueSteps(t)
			if !known {
				return ev.boundRefs(inst, b, steps)
			}
			return ev.boundRefs(inst, b, append(steps, sub...))
		}
		if refs, ok := ev.traversalPart(inst, t, sub); ok {
			return refs
		}
		if refs, ok := ev.instancesPart(inst, t, sub); ok {
			return refs
		}
	case *hclsyntax.ConditionalExpr:
		out := ev.exprRefs(inst, x.Condition, sc)
		out.add(ev.part(inst, x.TrueResult, sc, sub))
		out.add(ev.part(inst, x.FalseResult, sc, sub))
		return out
	case *hclsyntax.ForExpr:
		if x.Group {
			break
		}
		if _, isKey := sub[0].(string); isKey && x.KeyExpr == nil {
			break
		}
		inner := ev.forScope(x, sc)
		out := refSet{}
		if x.CondExpr != nil {
			out.add(ev.exprRefs(inst, x.CondExpr, inner))
		}
		if _, isKey := sub[0].(string); isKey {
			out.add(ev.exprRefs(inst, x.KeyExpr, inner))
		}
		out.add(ev.part(inst, x.ValExpr, inner, sub[1:]))
		return out
	case *hclsyntax.FunctionCallExpr:
		switch x.Name {
		case "merge", "try", "coalesce", "concat", "tolist", "toset", "tomap", "flatten":
			// The part comes from one of the arguments (merge: a later
			// one wins, but any of them may hold the key).
			if x.ExpandFinal || (x.Name == "flatten" && !isElem(sub[0])) {
				break
			}
			out := refSet{}
			for _, a := range x.Args {
				out.add(ev.part(inst, a, sc, sub))
			}
			return out
		case "one":
			if len(x.Args) == 1 && !x.ExpandFinal {
				return ev.part(inst, x.Args[0], sc, append([]any{elemStep{}}, sub...))
			}
		}
	}
	return ev.exprRefs(inst, e, sc)
}

func isElem(s any) bool {
	_, ok := s.(elemStep)
	return ok
}

// forScope binds a for expression's variables: the value variable to an
// element of the collection, the key variable to one of its keys.
func (ev *evaluator) forScope(x *hclsyntax.ForExpr, sc *scope) *scope {
	inner := sc
	if x.KeyVar != "" {
		inner = inner.bindAs(x.KeyVar, x.CollExpr, bindKey)
	}
	// The value variable is evaluated in the outer scope (sc), as the
	// collection is.
	return &scope{parent: inner, name: x.ValVar, expr: x.CollExpr, kind: bindElem, evalIn: sc}
}

// keysOf returns the claim-sensitive references of the keys of the
// collection at sub in e: the instance keys of a for_each, the key
// variable of a for expression.
func (ev *evaluator) keysOf(inst *instance, e hcl.Expression, sc *scope, sub []any) refSet {
	switch x := e.(type) {
	case *hclsyntax.ParenthesesExpr:
		return ev.keysOf(inst, x.Expression, sc, sub)
	case *hclsyntax.ObjectConsExpr:
		if len(sub) > 0 {
			if s, ok := sub[0].(string); ok {
				for _, item := range x.Items {
					if k, lit := literalKey(item.KeyExpr); lit && k == s {
						return ev.keysOf(inst, item.ValueExpr, sc, sub[1:])
					}
				}
			}
			break
		}
		out := refSet{}
		for _, item := range x.Items {
			if _, lit := literalKey(item.KeyExpr); !lit {
				out.add(ev.exprRefs(inst, item.KeyExpr, sc))
			}
		}
		return out
	case *hclsyntax.TupleConsExpr:
		if len(sub) == 0 {
			return refSet{} // list indexes
		}
	case *hclsyntax.ScopeTraversalExpr:
		t := x.Traversal
		if b, ok := sc.lookup(t.RootName()); ok {
			if b.expr == nil {
				return refSet{}
			}
			break
		}
		if at, ex, esc, rest, ok := ev.deref(inst, t); ok {
			key := memoKey{inst: inst, ref: "keys:" + renderTraversal(t) + renderSteps(sub)}
			if r, found := ev.memo[key]; found {
				return r.refs
			}
			if ev.active[key] {
				return refSet{}
			}
			if ev.partDepth > maxPartDepth {
				break
			}
			ev.active[key] = true
			ev.partDepth++
			refs := ev.keysOf(at, ex, esc, append(append([]any{}, rest...), sub...))
			ev.partDepth--
			delete(ev.active, key)
			ev.memo[key] = resolved{refs: refs}
			return refs
		}
		if r := ev.counted(inst, t); r != nil && len(sub) == 0 {
			// The keys of a resource's instances: its for_each keys,
			// or the indexes its count makes.
			return ev.guarded(memoKey{inst: inst, ref: "instance keys:" + renderTraversal(t)}, func() refSet {
				return ev.keyRefs(inst, meta(r.block.Body))
			})
		}
	case *hclsyntax.ForExpr:
		if len(sub) > 0 || x.Group {
			break
		}
		inner := ev.forScope(x, sc)
		out := refSet{}
		if x.CondExpr != nil {
			out.add(ev.exprRefs(inst, x.CondExpr, inner))
		}
		if x.KeyExpr != nil {
			out.add(ev.exprRefs(inst, x.KeyExpr, inner))
			return out
		}
		return out // a tuple: its keys are indexes
	case *hclsyntax.ConditionalExpr:
		out := ev.exprRefs(inst, x.Condition, sc)
		out.add(ev.keysOf(inst, x.TrueResult, sc, sub))
		out.add(ev.keysOf(inst, x.FalseResult, sc, sub))
		return out
	case *hclsyntax.FunctionCallExpr:
		if x.ExpandFinal || len(sub) > 0 {
			break
		}
		switch x.Name {
		case "toset":
			// The keys of a set are its elements.
			if len(x.Args) == 1 {
				return ev.part(inst, x.Args[0], sc, []any{elemStep{}})
			}
		case "merge", "tomap":
			out := refSet{}
			for _, a := range x.Args {
				out.add(ev.keysOf(inst, a, sc, nil))
			}
			return out
		}
	}
	if len(sub) > 0 {
		return ev.part(inst, e, sc, sub)
	}
	return ev.exprRefs(inst, e, sc)
}

// partRef resolves a local, var or module output reference to the part it
// reads; ok is false for other references and for ones that match a claim
// pattern themselves (the caller reports those as they are).
func (ev *evaluator) partRef(inst *instance, t hcl.Traversal) (refSet, bool) {
	switch t.RootName() {
	case "local", "var", "module":
	default:
		return nil, false
	}
	if steps := nameSteps(t); len(steps) == 0 || ev.match(steps, inst.parent == nil) {
		return nil, false
	}
	return ev.traversalPart(inst, t, nil)
}
