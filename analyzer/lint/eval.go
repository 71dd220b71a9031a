package lint

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// instance is one instantiation of a module: the root, or a module call.
type instance struct {
	mod      *module
	parent   *instance
	call     *moduleCall
	addr     string // "" for the root, module.a.module.b below
	children map[string]*instance
}

// maxInstances bounds the module instance tree.
const maxInstances = 1000

func buildInstances(l *loader, m *module, parent *instance, call *moduleCall, addr string, depth int, budget *int) *instance {
	inst := &instance{mod: m, parent: parent, call: call, addr: addr, children: map[string]*instance{}}
	*budget--
	if depth >= maxModuleDepth {
		return inst
	}
	for _, name := range m.callOrder {
		c := m.calls[name]
		if c.dir == "" || *budget <= 0 {
			continue
		}
		child, ok := l.modules[c.dir]
		if !ok || inst.hasAncestor(child) {
			// A module that calls itself, directly or not, is an error
			// for Terraform; do not follow it.
			continue
		}
		a := "module." + name
		if addr != "" {
			a = addr + "." + a
		}
		inst.children[name] = buildInstances(l, child, inst, c, a, depth+1, budget)
	}
	return inst
}

// hasAncestor reports whether m is the module of inst or of an instance above it.
func (inst *instance) hasAncestor(m *module) bool {
	for i := inst; i != nil; i = i.parent {
		if i.mod == m {
			return true
		}
	}
	return false
}

// walk calls fn for inst and every instance below it, parents first, in
// module call order.
func (inst *instance) walk(fn func(*instance)) {
	fn(inst)
	for _, name := range inst.mod.callOrder {
		if c, ok := inst.children[name]; ok {
			c.walk(fn)
		}
	}
}

// refSet is a set of rendered claim-sensitive references.
type refSet map[string]struct{}

func (s refSet) add(o refSet) {
	for k := range o {
		s[k] = struct{}{}
	}
}

func (s refSet) sorted() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// evaluator finds the claim-sensitive references an expression depends on.
type evaluator struct {
	claims *claimMatcher
	memo   map[memoKey]refSet
	active map[memoKey]bool
}

type memoKey struct {
	inst *instance
	ref  string
}

func newEvaluator(c *claimMatcher) *evaluator {
	return &evaluator{claims: c, memo: map[memoKey]refSet{}, active: map[memoKey]bool{}}
}

// expr returns the claim-sensitive references expression e depends on in
// inst, and the direct references of e that lead to them.
func (ev *evaluator) expr(inst *instance, e hcl.Expression) (refs refSet, via []string) {
	refs = refSet{}
	seen := map[string]bool{}
	for _, t := range e.Variables() {
		r := ev.traversal(inst, t)
		if len(r) == 0 {
			continue
		}
		refs.add(r)
		name := renderTraversal(t)
		if _, isRoot := r[name]; !isRoot && !seen[name] {
			seen[name] = true
			via = append(via, name)
		}
	}
	sort.Strings(via)
	return refs, via
}

func (ev *evaluator) exprRefs(inst *instance, e hcl.Expression) refSet {
	r, _ := ev.expr(inst, e)
	return r
}

// traversal resolves one reference.
func (ev *evaluator) traversal(inst *instance, t hcl.Traversal) refSet {
	steps := nameSteps(t)
	if len(steps) == 0 {
		return nil
	}
	if ev.claims.match(steps, inst.parent == nil) {
		return refSet{renderTraversal(t): {}}
	}
	key := memoKey{inst: inst, ref: joinSteps(steps, 3)}
	switch steps[0] {
	case "var", "local":
		key.ref = joinSteps(steps, 2)
	case "module":
		key.ref = joinSteps(steps, 3)
	case "data", "each", "count", "self", "path", "terraform":
		return nil
	}
	if r, ok := ev.memo[key]; ok {
		return r
	}
	if ev.active[key] {
		return nil // a cycle: Terraform rejects it; do not loop
	}
	ev.active[key] = true
	r := ev.resolve(inst, steps)
	delete(ev.active, key)
	ev.memo[key] = r
	return r
}

func (ev *evaluator) resolve(inst *instance, steps []string) refSet {
	m := inst.mod
	switch steps[0] {
	case "var":
		if len(steps) < 2 || inst.call == nil {
			return nil
		}
		a, ok := inst.call.attrs[steps[1]]
		if !ok {
			return nil
		}
		return ev.exprRefs(inst.parent, a.Expr)
	case "local":
		if len(steps) < 2 {
			return nil
		}
		a, ok := m.locals[steps[1]]
		if !ok {
			return nil
		}
		return ev.exprRefs(inst, a.Expr)
	case "module":
		if len(steps) < 2 {
			return nil
		}
		child, ok := inst.children[steps[1]]
		if !ok {
			return nil
		}
		out := refSet{}
		if len(steps) >= 3 {
			if a, ok := child.mod.outputs[steps[2]]; ok {
				out.add(ev.exprRefs(child, a.Expr))
			}
			return out
		}
		for _, a := range child.mod.outputs {
			out.add(ev.exprRefs(child, a.Expr))
		}
		return out
	}
	// A managed resource's attribute: follow its argument, if set.
	if len(steps) < 3 {
		return nil
	}
	r, ok := m.byAddr[steps[0]+"."+steps[1]]
	if !ok {
		return nil
	}
	a, ok := r.block.Body.Attributes[steps[2]]
	if !ok {
		return nil
	}
	if r.lifecycle.covers([]any{steps[2]}) {
		// Terraform keeps the old value of an ignored argument, so
		// references to it do not change either.
		return nil
	}
	return ev.exprRefs(inst, a.Expr)
}

func joinSteps(steps []string, n int) string {
	if len(steps) < n {
		n = len(steps)
	}
	s := steps[0]
	for _, x := range steps[1:n] {
		s += "." + x
	}
	return s
}
